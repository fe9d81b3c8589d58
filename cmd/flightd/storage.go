package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/duration"
	"github.com/tael/tael/schema"
)

// storageConfig is the compaction and retention part of the configuration.
type storageConfig struct {
	config          string
	compactInterval time.Duration
	// retention by setting name (traces, logs, metrics, rollups,
	// llm-payloads); zero keeps forever.
	retention map[string]*time.Duration
}

// retentionSettings names each retention setting and the table it governs.
var retentionSettings = []struct {
	name  string
	table schema.ID
	help  string
}{
	{"traces", schema.Spans, "spans and trace comments"},
	{"logs", schema.Logs, "logs"},
	{"metrics", schema.Metrics, "raw metric points"},
	{"rollups", schema.Metrics5m, "5-minute metric rollups (metrics_5m)"},
	{"llm-payloads", schema.LLMPayloads, "prompt and completion texts; a text also goes when no kept span references it"},
}

func addStorageFlags(fs *flag.FlagSet, c *storageConfig) {
	fs.StringVar(&c.config, "config", "", "optional TOML file with a [retention] table (traces, logs, metrics, rollups, llm_payloads); flags win")
	c.compactInterval = 5 * time.Minute
	fs.Var(duration.Value{D: &c.compactInterval}, "compact-interval", "how often hot rows older than --hot-window move to Parquet (0 turns the loop off)")
	c.retention = map[string]*time.Duration{}
	for _, s := range retentionSettings {
		d := new(time.Duration)
		c.retention[s.name] = d
		fs.Var(duration.Value{D: d}, "retention-"+s.name, "how long to keep "+s.help+", e.g. 30d (0 keeps forever)")
	}
}

// fileConfig is the TOML configuration file.
type fileConfig struct {
	Retention map[string]string `toml:"retention"`
}

// load reads the configuration file, if any, into the settings not given
// as flags or in the environment.
func (c *storageConfig) load(fs *flag.FlagSet) error {
	if c.config == "" {
		return nil
	}
	b, err := os.ReadFile(c.config)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var fc fileConfig
	md, err := toml.Decode(string(b), &fc)
	if err != nil {
		return fmt.Errorf("--config %s: %w", c.config, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return fmt.Errorf("--config %s: unknown setting %q", c.config, un[0].String())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for k, v := range fc.Retention {
		name := k
		if name == "llm_payloads" {
			name = "llm-payloads"
		}
		d, ok := c.retention[name]
		if !ok {
			return fmt.Errorf("--config %s: unknown retention setting %q (traces, logs, metrics, rollups, llm_payloads)", c.config, k)
		}
		if set["retention-"+name] {
			continue
		}
		if _, env := os.LookupEnv(envName("retention-" + name)); env {
			continue
		}
		p, err := duration.Parse(v)
		if err != nil {
			return fmt.Errorf("--config %s: retention.%s: %w", c.config, k, err)
		}
		*d = p
	}
	return nil
}

func (c *storageConfig) validate() error {
	if c.compactInterval < 0 {
		return fmt.Errorf("--compact-interval must not be negative, got %s", c.compactInterval)
	}
	for name, d := range c.retention {
		if *d < 0 {
			return fmt.Errorf("--retention-%s must not be negative, got %s", name, *d)
		}
	}
	return nil
}

// apply sets the engine options the storage configuration governs.
func (c *storageConfig) apply(o *engine.Options) {
	o.CompactInterval = c.compactInterval
	if c.compactInterval == 0 {
		o.CompactInterval = -1
	}
	o.Retention = map[schema.ID]time.Duration{}
	for _, s := range retentionSettings {
		if d := *c.retention[s.name]; d > 0 {
			o.Retention[s.table] = d
		}
	}
}
