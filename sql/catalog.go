package sql

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

// Catalog metadata comes from package schema: one catalog (tael), one
// schema (main), and the six tables, each of type TABLE.

const tableType = "TABLE"

// tableTypes are the table types GetTableTypes lists.
var tableTypes = []string{"TABLE", "VIEW"}

// one returns a channel holding rec alone.
func one(rec arrow.RecordBatch) <-chan flight.StreamChunk {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return ch
}

// stringRecord builds a record of string columns from rows.
func (s *Server) stringRecord(sc *arrow.Schema, rows [][]string) arrow.RecordBatch {
	b := array.NewRecordBuilder(s.mem, sc)
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.Catalogs, nil), nil
}

// DoGetCatalogs lists the one catalog, tael.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return schema_ref.Catalogs, one(s.stringRecord(schema_ref.Catalogs, [][]string{{catalogName}})), nil
}

func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.DBSchemas, nil), nil
}

// DoGetDBSchemas lists schema main of catalog tael, if it passes the
// filters.
func (s *Server) DoGetDBSchemas(_ context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	var rows [][]string
	if catalogMatches(cmd.GetCatalog()) && patternMatches(cmd.GetDBSchemaFilterPattern(), schemaName) {
		rows = append(rows, []string{catalogName, schemaName})
	}
	return schema_ref.DBSchemas, one(s.stringRecord(schema_ref.DBSchemas, rows)), nil
}

func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.flightInfo(desc, schema_ref.TablesWithIncludedSchema, nil), nil
	}
	return s.flightInfo(desc, schema_ref.Tables, nil), nil
}

// DoGetTables lists tael's tables that pass the filters, ordered by name,
// with their Arrow schemas (IPC-serialized, with Flight SQL column
// metadata) if asked.
func (s *Server) DoGetTables(_ context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	typeOK := len(cmd.GetTableTypes()) == 0
	for _, t := range cmd.GetTableTypes() {
		typeOK = typeOK || strings.EqualFold(t, tableType)
	}
	var tables []*schema.Table
	if typeOK && catalogMatches(cmd.GetCatalog()) && patternMatches(cmd.GetDBSchemaFilterPattern(), schemaName) {
		for _, t := range schema.Tables() {
			if patternMatches(cmd.GetTableNameFilterPattern(), t.Name) {
				tables = append(tables, t)
			}
		}
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })

	b := array.NewRecordBuilder(s.mem, sc)
	defer b.Release()
	for _, t := range tables {
		b.Field(0).(*array.StringBuilder).Append(catalogName)
		b.Field(1).(*array.StringBuilder).Append(schemaName)
		b.Field(2).(*array.StringBuilder).Append(t.Name)
		b.Field(3).(*array.StringBuilder).Append(tableType)
		if cmd.GetIncludeSchema() {
			b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(tableSchema(t), s.mem))
		}
	}
	return sc, one(b.NewRecordBatch()), nil
}

// tableSchema returns t's schema with Flight SQL column metadata, which
// JDBC's getColumns reads (type names are DuckDB's).
func tableSchema(t *schema.Table) *arrow.Schema {
	fields := make([]arrow.Field, t.Schema.NumFields())
	for i, f := range t.Schema.Fields() {
		md := flightsql.NewColumnMetadataBuilder().
			CatalogName(catalogName).SchemaName(schemaName).TableName(t.Name).
			TypeName(duck.SQLType(f.Type)).IsReadOnly(true).IsAutoIncrement(false).
			IsCaseSensitive(f.Type.ID() == arrow.STRING).IsSearchable(true)
		f.Metadata = md.Metadata()
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.TableTypes, nil), nil
}

// DoGetTableTypes lists TABLE and VIEW.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rows := make([][]string, len(tableTypes))
	for i, t := range tableTypes {
		rows[i] = []string{t}
	}
	return schema_ref.TableTypes, one(s.stringRecord(schema_ref.TableTypes, rows)), nil
}

// tael's tables have no primary or foreign keys: the key requests answer
// with no rows.

func (s *Server) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.PrimaryKeys, nil), nil
}

func (s *Server) DoGetPrimaryKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.empty(schema_ref.PrimaryKeys)
}

func (s *Server) GetFlightInfoImportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ImportedKeys, nil), nil
}

func (s *Server) DoGetImportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.empty(schema_ref.ImportedKeys)
}

func (s *Server) GetFlightInfoExportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ExportedKeys, nil), nil
}

func (s *Server) DoGetExportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.empty(schema_ref.ExportedKeys)
}

func (s *Server) GetFlightInfoCrossReference(_ context.Context, _ flightsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.CrossReference, nil), nil
}

func (s *Server) DoGetCrossReference(context.Context, flightsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.empty(schema_ref.CrossReference)
}

// empty answers with no rows of schema sc.
func (s *Server) empty(sc *arrow.Schema) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, sc)
	defer b.Release()
	return sc, one(b.NewRecordBatch()), nil
}

// catalogMatches reports whether a catalog filter (an exact name; nil for
// any) selects tael. The empty string selects tables without a catalog:
// none.
func catalogMatches(c *string) bool {
	return c == nil || strings.EqualFold(*c, catalogName)
}

// patternMatches reports whether name matches an optional SQL LIKE pattern
// (nil matches all).
func patternMatches(p *string, name string) bool {
	return p == nil || likeMatch(*p, name)
}

// likeMatch reports whether s matches the SQL LIKE pattern p: % matches any
// run of characters, _ one character, and \ escapes the next character.
// Matching ignores case, as tael's identifiers do.
func likeMatch(p, s string) bool {
	p, s = strings.ToLower(p), strings.ToLower(s)
	// Iterative matcher with backtracking to the last %.
	var pi, si int
	starP, starS := -1, -1
	for si < len(s) {
		if pi < len(p) {
			c, n := utf8.DecodeRuneInString(p[pi:])
			switch {
			case c == '%':
				starP, starS = pi+n, si
				pi += n
				continue
			case c == '_':
				_, sn := utf8.DecodeRuneInString(s[si:])
				pi, si = pi+n, si+sn
				continue
			case c == '\\' && pi+n < len(p):
				e, en := utf8.DecodeRuneInString(p[pi+n:])
				sc, sn := utf8.DecodeRuneInString(s[si:])
				if e == sc {
					pi, si = pi+n+en, si+sn
					continue
				}
			default:
				sc, sn := utf8.DecodeRuneInString(s[si:])
				if c == sc {
					pi, si = pi+n, si+sn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := utf8.DecodeRuneInString(s[starS:])
		starS += sn
		pi, si = starP, starS
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
