// Package promcompare holds the benchmark of issue 6: the same metrics loaded
// into tael and into a real Prometheus 2.x (Debian's, from scripts/tools.sh),
// and the same range queries timed on both over their HTTP APIs. It has no
// code of its own: see promcompare_test.go.
package promcompare
