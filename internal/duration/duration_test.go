package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "5m", want: 5 * time.Minute},
		{in: "1h", want: time.Hour},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "90", want: 90 * time.Second},
		{in: "1.5", want: 1500 * time.Millisecond},
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: " 2h ", want: 2 * time.Hour},
		{in: "", err: true},
		{in: "abc", err: true},
		{in: "7days", err: true},
		{in: "1.5d", err: true},
		{in: "d", err: true},
		{in: "1e300", err: true},
		{in: "NaN", err: true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if (err != nil) != c.err {
				t.Fatalf("Parse(%q) error %v, want error %v", c.in, err, c.err)
			}
			if !c.err && got != c.want {
				t.Errorf("Parse(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7d",
		36 * time.Hour:     "1d12h0m0s",
		90 * time.Second:   "1m30s",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%s) = %q, want %q", d, got, want)
		}
		if back, err := Parse(Format(d)); err != nil || back != d {
			t.Errorf("Parse(Format(%s)) = %s, %v", d, back, err)
		}
	}
}
