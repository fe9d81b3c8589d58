package sql

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
)

// registerSqlInfo registers every SqlInfo tael answers with the BaseServer.
// The value types follow what the Arrow Flight SQL JDBC driver reads
// (ArrowDatabaseMetadata): int64 for lengths and the default isolation,
// int32 bitmasks for the enum sets.
func (s *Server) registerSqlInfo(ctx context.Context) error {
	kw, err := s.keywords(ctx)
	if err != nil {
		s.log.Warn("cannot list DuckDB's keywords for GetSqlInfo", "err", err)
	}
	fns, err := s.functions(ctx)
	if err != nil {
		s.log.Warn("cannot list DuckDB's functions for GetSqlInfo", "err", err)
	}
	info := map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:                        "tael",
		flightsql.SqlInfoFlightSqlServerVersion:                     s.opts.Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:                arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:                    true,
		flightsql.SqlInfoFlightSqlServerSql:                         true,
		flightsql.SqlInfoFlightSqlServerSubstrait:                   false,
		flightsql.SqlInfoFlightSqlServerTransaction:                 int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:                      true,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:               s.opts.Ingester != nil,
		flightsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		// Milliseconds a prepared statement lives unused.
		flightsql.SqlInfoFlightSqlServerStatementTimeout:   int32(preparedIdle.Milliseconds()),
		flightsql.SqlInfoFlightSqlServerTransactionTimeout: int32(0),

		flightsql.SqlInfoDDLCatalog:                                          false,
		flightsql.SqlInfoDDLSchema:                                           false,
		flightsql.SqlInfoDDLTable:                                            false,
		flightsql.SqlInfoIdentifierCase:                                      int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoIdentifierQuoteChar:                                 `"`,
		flightsql.SqlInfoQuotedIdentifierCase:                                int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoAllTablesAreASelectable:                             true,
		flightsql.SqlInfoNullOrdering:                                        int64(flightsql.SqlNullOrderingSortAtEnd), // DuckDB: NULLS LAST
		flightsql.SqlInfoKeywords:                                            kw,
		flightsql.SqlInfoNumericFunctions:                                    fns.numeric,
		flightsql.SqlInfoStringFunctions:                                     fns.str,
		flightsql.SqlInfoSystemFunctions:                                     fns.system,
		flightsql.SqlInfoDateTimeFunctions:                                   fns.datetime,
		flightsql.SqlInfoSearchStringEscape:                                  `\`, // of the metadata patterns (likeMatch)
		flightsql.SqlInfoExtraNameChars:                                      "",
		flightsql.SqlInfoSupportsColumnAliasing:                              true,
		flightsql.SqlInfoNullPlusNullIsNull:                                  true,
		flightsql.SqlInfoSupportsConvert:                                     supportsConvert(),
		flightsql.SqlInfoSupportsTableCorrelationNames:                       true,
		flightsql.SqlInfoSupportsDifferentTableCorrelationNames:              false,
		flightsql.SqlInfoSupportsExpressionsInOrderBy:                        true,
		flightsql.SqlInfoSupportsOrderByUnrelated:                            true,
		flightsql.SqlInfoSupportedGroupBy:                                    bits(0, 1), // unrelated, beyond select
		flightsql.SqlInfoSupportsLikeEscapeClause:                            true,
		flightsql.SqlInfoSupportsNonNullableColumns:                          true,
		flightsql.SqlInfoSupportedGrammar:                                    bits(0, 1, 2), // minimum, core, extended
		flightsql.SqlInfoANSI92SupportedLevel:                                bits(0, 1),    // entry, intermediate
		flightsql.SqlInfoSupportsIntegrityEnhancementFacility:                false,
		flightsql.SqlInfoOuterJoinsSupportLevel:                              bits(1, 2), // limited, full
		flightsql.SqlInfoSchemaTerm:                                          "schema",
		flightsql.SqlInfoProcedureTerm:                                       "procedure",
		flightsql.SqlInfoCatalogTerm:                                         "catalog",
		flightsql.SqlInfoCatalogAtStart:                                      true,
		flightsql.SqlInfoSchemasSupportedActions:                             int32(0),
		flightsql.SqlInfoCatalogsSupportedActions:                            int32(0),
		flightsql.SqlInfoSupportedPositionedCommands:                         int32(0),
		flightsql.SqlInfoSelectForUpdateSupported:                            false,
		flightsql.SqlInfoStoredProceduresSupported:                           false,
		flightsql.SqlInfoSupportedSubqueries:                                 bits(0, 1, 2, 3), // comparisons, exists, in, quantified
		flightsql.SqlInfoCorrelatedSubqueriesSupported:                       true,
		flightsql.SqlInfoSupportedUnions:                                     bits(0, 1), // UNION, UNION ALL
		flightsql.SqlInfoMaxRowSizeIncludesBlobs:                             false,
		flightsql.SqlInfoDefaultTransactionIsolation:                         int64(0), // none
		flightsql.SqlInfoTransactionsSupported:                               false,
		flightsql.SqlInfoSupportedTransactionsIsolationlevels:                bits(0), // none
		flightsql.SqlInfoDataDefinitionCausesTransactionCommit:               false,
		flightsql.SqlInfoDataDefinitionsInTransactionsIgnored:                false,
		flightsql.SqlInfoSupportedResultSetTypes:                             bits(1), // forward only
		flightsql.SqlInfoSupportedConcurrenciesForResultSetUnspecified:       bits(1), // read only
		flightsql.SqlInfoSupportedConcurrenciesForResultSetForwardOnly:       bits(1),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollSensitive:   int32(0),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollInsensitive: int32(0),
		flightsql.SqlInfoBatchUpdatesSupported:                               true, // prepared INSERT with many parameter rows
		flightsql.SqlInfoSavePointsSupported:                                 false,
		flightsql.SqlInfoNamedParametersSupported:                            false,
		flightsql.SqlInfoLocatorsUpdateCopy:                                  false,
		flightsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported:             false,
	}
	// Limits: 0 means none or unknown (JDBC's convention).
	for _, id := range []flightsql.SqlInfo{
		flightsql.SqlInfoMaxBinaryLiteralLen, flightsql.SqlInfoMaxCharLiteralLen,
		flightsql.SqlInfoMaxColumnNameLen, flightsql.SqlInfoMaxColumnsInGroupBy,
		flightsql.SqlInfoMaxColumnsInIndex, flightsql.SqlInfoMaxColumnsInOrderBy,
		flightsql.SqlInfoMaxColumnsInSelect, flightsql.SqlInfoMaxColumnsInTable,
		flightsql.SqlInfoMaxConnections, flightsql.SqlInfoMaxCursorNameLen,
		flightsql.SqlInfoMaxIndexLen, flightsql.SqlInfoDBSchemaNameLen,
		flightsql.SqlInfoMaxProcedureNameLen, flightsql.SqlInfoMaxCatalogNameLen,
		flightsql.SqlInfoMaxRowSize, flightsql.SqlInfoMaxStatementLen,
		flightsql.SqlInfoMaxStatements, flightsql.SqlInfoMaxTableNameLen,
		flightsql.SqlInfoMaxTablesInSelect, flightsql.SqlInfoMaxUsernameLen,
	} {
		info[id] = int64(0)
	}
	s.sqlInfo = map[uint32]bool{}
	for id, v := range info {
		if v, ok := v.([]string); ok && v == nil {
			info[id] = []string{}
		}
		if err := s.RegisterSqlInfo(id, info[id]); err != nil {
			return fmt.Errorf("sql: register %s: %w", id, err)
		}
		s.sqlInfo[uint32(id)] = true
	}
	return nil
}

// bits returns the int32 bitmask with the given bits set.
func bits(b ...int) int32 {
	var m int32
	for _, i := range b {
		m |= 1 << i
	}
	return m
}

// supportsConvert lists the CASTs DuckDB performs between the JDBC type
// groups (SqlSupportsConvert).
func supportsConvert() map[int32][]int32 {
	numeric := []int32{
		int32(flightsql.SqlConvertBigInt), int32(flightsql.SqlConvertBit), int32(flightsql.SqlConvertDecimal),
		int32(flightsql.SqlConvertFloat), int32(flightsql.SqlConvertInteger), int32(flightsql.SqlConvertNumeric),
		int32(flightsql.SqlConvertReal), int32(flightsql.SqlConvertSmallInt), int32(flightsql.SqlConvertTinyInt),
	}
	text := []int32{int32(flightsql.SqlConvertChar), int32(flightsql.SqlConvertVarchar), int32(flightsql.SqlConvertLongVarchar)}
	temporal := []int32{int32(flightsql.SqlConvertDate), int32(flightsql.SqlConvertTime), int32(flightsql.SqlConvertTimestamp)}
	binary := []int32{int32(flightsql.SqlConvertBinary), int32(flightsql.SqlConvertVarbinary), int32(flightsql.SqlConvertLongVarbinary)}
	m := map[int32][]int32{}
	for _, from := range numeric {
		m[from] = slices.Concat(numeric, text)
	}
	for _, from := range text {
		m[from] = slices.Concat(numeric, text, temporal, binary)
	}
	m[int32(flightsql.SqlConvertDate)] = slices.Concat(text, []int32{int32(flightsql.SqlConvertDate), int32(flightsql.SqlConvertTimestamp)})
	m[int32(flightsql.SqlConvertTime)] = slices.Concat(text, []int32{int32(flightsql.SqlConvertTime)})
	m[int32(flightsql.SqlConvertTimestamp)] = slices.Concat(text, temporal)
	for _, from := range binary {
		m[from] = slices.Concat(text, binary)
	}
	return m
}

// keywords lists DuckDB's keywords, upper case.
func (s *Server) keywords(ctx context.Context) ([]string, error) {
	var out []string
	err := s.scanStrings(ctx, "SELECT keyword_name FROM duckdb_keywords() ORDER BY 1", func(row []string) {
		out = append(out, strings.ToUpper(row[0]))
	})
	return out, err
}

// functionLists are DuckDB's functions by JDBC's groups.
type functionLists struct {
	numeric, str, system, datetime []string
}

// functions lists DuckDB's scalar functions and macros by group. DuckDB
// tags few functions with categories, so the groups also come from the
// types: numeric functions take and return numbers, string functions return
// VARCHAR from a VARCHAR, datetime functions take or return a date or time.
func (s *Server) functions(ctx context.Context) (functionLists, error) {
	const q = `SELECT function_name, any_value(return_type),
		flatten(list(parameter_types)), flatten(list(categories))
		FROM duckdb_functions() WHERE function_type IN ('scalar', 'macro')
		GROUP BY function_name ORDER BY function_name`
	var out functionLists
	err := s.scanLists(ctx, q, func(name, ret string, params, cats []string) {
		if !plainName.MatchString(name) || strings.HasPrefix(name, "icu_collate_") {
			return
		}
		n := strings.ToUpper(name)
		if systemFunctions[name] {
			out.system = append(out.system, n)
		}
		if slices.Contains(cats, "numeric") || (isNumeric(ret) && len(params) > 0 && allNumeric(params)) {
			out.numeric = append(out.numeric, n)
		}
		if slices.Contains(cats, "string") || slices.Contains(cats, "regex") || slices.Contains(cats, "text_similarity") ||
			(ret == "VARCHAR" && slices.Contains(params, "VARCHAR")) {
			out.str = append(out.str, n)
		}
		if slices.Contains(cats, "date") || slices.Contains(cats, "timestamp") || isTemporal(ret) || slices.ContainsFunc(params, isTemporal) {
			out.datetime = append(out.datetime, n)
		}
	})
	return out, err
}

var plainName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// systemFunctions are DuckDB's functions about the session and database
// (JDBC's "system functions").
var systemFunctions = map[string]bool{
	"current_database": true, "current_schema": true, "current_schemas": true, "current_setting": true,
	"current_query": true, "current_query_id": true, "current_transaction_id": true, "txid_current": true,
	"version": true, "user": true, "current_user": true, "session_user": true, "current_catalog": true,
	"getvariable": true, "typeof": true, "pg_typeof": true, "current_role": true,
}

func isNumeric(t string) bool {
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
		return true
	}
	return strings.HasPrefix(t, "DECIMAL")
}

func allNumeric(ts []string) bool {
	for _, t := range ts {
		if !isNumeric(t) {
			return false
		}
	}
	return true
}

func isTemporal(t string) bool {
	return t == "DATE" || t == "INTERVAL" || strings.HasPrefix(t, "TIME")
}

// scanStrings runs a query whose columns are strings and calls f per row.
func (s *Server) scanStrings(ctx context.Context, q string, f func(row []string)) error {
	rdr, err := s.opts.Backend.Query(ctx, q, nil)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		cols := make([]*array.String, rec.NumCols())
		for i := range cols {
			c, ok := rec.Column(i).(*array.String)
			if !ok {
				return fmt.Errorf("%s: column %d is %s, not utf8", q, i, rec.Column(i).DataType())
			}
			cols[i] = c
		}
		row := make([]string, len(cols))
		for r := range int(rec.NumRows()) {
			for i, c := range cols {
				row[i] = c.Value(r)
			}
			f(row)
		}
	}
	return rdr.Err()
}

// scanLists runs the functions query: name, return type, two string lists.
func (s *Server) scanLists(ctx context.Context, q string, f func(name, ret string, a, b []string)) error {
	rdr, err := s.opts.Backend.Query(ctx, q, nil)
	if err != nil {
		return err
	}
	defer rdr.Release()
	list := func(l *array.List, r int) []string {
		if l.IsNull(r) {
			return nil
		}
		vals, ok := l.ListValues().(*array.String)
		if !ok {
			return nil
		}
		start, end := l.ValueOffsets(r)
		out := make([]string, 0, end-start)
		for i := start; i < end; i++ {
			if vals.IsValid(int(i)) {
				out = append(out, vals.Value(int(i)))
			}
		}
		return out
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		name, ok1 := rec.Column(0).(*array.String)
		ret, ok2 := rec.Column(1).(*array.String)
		a, ok3 := rec.Column(2).(*array.List)
		b, ok4 := rec.Column(3).(*array.List)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return fmt.Errorf("functions query returned %s", rec.Schema())
		}
		for r := range int(rec.NumRows()) {
			f(name.Value(r), ret.Value(r), list(a, r), list(b, r))
		}
	}
	return rdr.Err()
}

// sqlInfoIDs is a GetSqlInfo request for the given ids.
type sqlInfoIDs []uint32

func (ids sqlInfoIDs) GetInfo() []uint32 { return ids }

// DoGetSqlInfo answers the registered SqlInfo ids among those asked for
// (all of them for an empty list). Ids tael does not know, such as the
// Substrait versions, are left out instead of failing the whole request.
func (s *Server) DoGetSqlInfo(ctx context.Context, cmd flightsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ids := cmd.GetInfo()
	if len(ids) == 0 {
		return s.BaseServer.DoGetSqlInfo(ctx, cmd)
	}
	known := make(sqlInfoIDs, 0, len(ids))
	for _, id := range ids {
		if s.sqlInfo[id] {
			known = append(known, id)
		}
	}
	if len(known) == 0 {
		b := array.NewRecordBuilder(s.mem, schema_ref.SqlInfo)
		defer b.Release()
		ch := make(chan flight.StreamChunk, 1)
		ch <- flight.StreamChunk{Data: b.NewRecordBatch()}
		close(ch)
		return schema_ref.SqlInfo, ch, nil
	}
	return s.BaseServer.DoGetSqlInfo(ctx, known)
}
