// Package main pins modules that packages under construction import, so that
// go mod tidy keeps them. Deleted once those packages land.
package main

import (
	_ "github.com/apache/arrow-go/v18/arrow/compute"
	_ "github.com/apache/arrow-go/v18/arrow/ipc"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/otlptranslator"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "go.opentelemetry.io/collector/pdata/plog"
	_ "go.opentelemetry.io/collector/pdata/pmetric"
	_ "go.opentelemetry.io/collector/pdata/ptrace"
	_ "go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() {}
