// Package main pins modules that packages under construction import, so that
// go mod tidy keeps them. Deleted once those packages land.
package main

import (
	_ "github.com/apache/arrow-go/v18/arrow/compute"
	_ "github.com/apache/arrow-go/v18/arrow/ipc"
	_ "github.com/blevesearch/bleve/v2"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/golang/snappy"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/otlptranslator"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "github.com/prometheus/prometheus/prompb"
	_ "github.com/prometheus/prometheus/storage/remote"
	_ "go.opentelemetry.io/collector/pdata/plog/plogotlp"
	_ "go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	_ "go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	_ "go.opentelemetry.io/otel/sdk/log"
	_ "go.opentelemetry.io/otel/sdk/metric"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "google.golang.org/grpc"
)

func main() {}
