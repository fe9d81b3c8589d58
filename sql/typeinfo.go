package sql

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
)

// xdbcType is one row of GetXdbcTypeInfo: a DuckDB type tael's tables use.
type xdbcType struct {
	name string
	// dataType is the JDBC/ODBC type code (java.sql.Types).
	dataType int32
	// columnSize is the maximum precision or length; 0 for none.
	columnSize int32
	// quoted types take literals in single quotes.
	quoted        bool
	caseSensitive bool
	// searchable: 0 none, 2 all but LIKE, 3 all.
	searchable int32
	// numeric types report unsigned, auto increment and radix.
	numeric  bool
	unsigned bool
	radix    int32
	// maxScale is the largest scale (fractional digits); -1 for none.
	maxScale int32
	// sqlDataType and subcode: ODBC's generic code for datetimes.
	sqlDataType, subcode int32
}

// JDBC type codes (java.sql.Types).
const (
	jdbcBigInt     = -5
	jdbcInteger    = 4
	jdbcDouble     = 8
	jdbcVarchar    = 12
	jdbcBoolean    = 16
	jdbcTimestamp  = 93
	jdbcJavaObject = 2000
	jdbcStruct     = 2002
	jdbcArray      = 2003
	// odbcDatetime and odbcTimestampCode are ODBC's SQL_DATETIME and
	// SQL_CODE_TIMESTAMP.
	odbcDatetime      = 9
	odbcTimestampCode = 3
)

// xdbcTypes lists the types of tael's tables, ordered by data type as JDBC's
// getTypeInfo requires.
var xdbcTypes = []xdbcType{
	{name: "BIGINT", dataType: jdbcBigInt, columnSize: 19, searchable: 2, numeric: true, radix: 10, maxScale: 0},
	{name: "UBIGINT", dataType: jdbcBigInt, columnSize: 20, searchable: 2, numeric: true, unsigned: true, radix: 10, maxScale: 0},
	{name: "INTEGER", dataType: jdbcInteger, columnSize: 10, searchable: 2, numeric: true, radix: 10, maxScale: 0},
	{name: "DOUBLE", dataType: jdbcDouble, columnSize: 53, searchable: 2, numeric: true, radix: 2, maxScale: -1},
	{name: "VARCHAR", dataType: jdbcVarchar, quoted: true, caseSensitive: true, searchable: 3, maxScale: -1},
	{name: "BOOLEAN", dataType: jdbcBoolean, columnSize: 1, searchable: 2, maxScale: -1},
	{name: "TIMESTAMP", dataType: jdbcTimestamp, columnSize: 29, quoted: true, searchable: 2, maxScale: 9,
		sqlDataType: odbcDatetime, subcode: odbcTimestampCode},
	{name: "MAP", dataType: jdbcJavaObject, maxScale: -1},
	{name: "STRUCT", dataType: jdbcStruct, maxScale: -1},
	{name: "LIST", dataType: jdbcArray, maxScale: -1},
}

func (s *Server) GetFlightInfoXdbcTypeInfo(_ context.Context, _ flightsql.GetXdbcTypeInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.XdbcTypeInfo, nil), nil
}

// DoGetXdbcTypeInfo lists the types of tael's tables, or those with the
// asked data type.
func (s *Server) DoGetXdbcTypeInfo(_ context.Context, cmd flightsql.GetXdbcTypeInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.XdbcTypeInfo)
	defer b.Release()
	str := func(i int, v string, ok bool) {
		if ok {
			b.Field(i).(*array.StringBuilder).Append(v)
		} else {
			b.Field(i).AppendNull()
		}
	}
	i32 := func(i int, v int32, ok bool) {
		if ok {
			b.Field(i).(*array.Int32Builder).Append(v)
		} else {
			b.Field(i).AppendNull()
		}
	}
	boolean := func(i int, v bool, ok bool) {
		if ok {
			b.Field(i).(*array.BooleanBuilder).Append(v)
		} else {
			b.Field(i).AppendNull()
		}
	}
	for _, t := range xdbcTypes {
		if dt := cmd.GetDataType(); dt != nil && *dt != t.dataType {
			continue
		}
		str(0, t.name, true)
		i32(1, t.dataType, true)
		i32(2, t.columnSize, t.columnSize > 0)
		str(3, "'", t.quoted)
		str(4, "'", t.quoted)
		b.Field(5).AppendNull() // create_params: DuckDB's types take none
		i32(6, 1, true)         // nullable: columnNullable
		boolean(7, t.caseSensitive, true)
		i32(8, t.searchable, true)
		boolean(9, t.unsigned, t.numeric)
		boolean(10, false, true) // fixed_prec_scale
		boolean(11, false, t.numeric)
		str(12, t.name, true)
		i32(13, 0, t.maxScale >= 0)
		i32(14, t.maxScale, t.maxScale >= 0)
		if t.sqlDataType != 0 {
			i32(15, t.sqlDataType, true)
			i32(16, t.subcode, true)
		} else {
			i32(15, t.dataType, true)
			i32(16, 0, false)
		}
		i32(17, t.radix, t.radix > 0)
		i32(18, 0, false)
	}
	return schema_ref.XdbcTypeInfo, one(b.NewRecordBatch()), nil
}
