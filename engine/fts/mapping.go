package fts

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/length"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/unicodenorm"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Field names in bleve documents.
const (
	fieldText = "text"
	fieldKind = "kind"
	// fieldID repeats the document ID as a doc-values field, to break score
	// ties: sorting on bleve's "_id" loads every candidate's stored fields
	// (its text included) and made a query for a common word 20× slower.
	fieldID = "id"
)

// Names of the custom analysis components, stored in the index mapping.
const (
	textAnalyzer = "tael_text"
	nfkcFilter   = "tael_nfkc"
	bigramFilter = "tael_cjk_bigram"
	lengthFilter = "tael_length"
)

// maxTokenRunes drops longer tokens (base64 blobs, minified code): they
// bloat the term dictionary and nobody types them. 255 keeps hex sha256 and
// trace IDs, URLs' words and the longest words of natural languages.
const maxTokenRunes = 255

// newMapping returns the mapping of a new index: see doc.go, "Analysis", for
// why each step is there. Every component is one bleve registers itself, so
// the mapping stored in the index reopens without code of ours registered
// in bleve's global registry.
func newMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomTokenFilter(nfkcFilter, map[string]any{
		"type": unicodenorm.Name,
		"form": unicodenorm.NFKC,
	}); err != nil {
		return nil, err
	}
	if err := m.AddCustomTokenFilter(bigramFilter, map[string]any{
		"type":           cjk.BigramName,
		"output_unigram": true,
	}); err != nil {
		return nil, err
	}
	if err := m.AddCustomTokenFilter(lengthFilter, map[string]any{
		"type": length.Name,
		"max":  float64(maxTokenRunes), // bleve reads JSON numbers
	}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(textAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{nfkcFilter, lowercase.Name, bigramFilter, lengthFilter},
	}); err != nil {
		return nil, err
	}

	text := bleve.NewTextFieldMapping()
	text.Analyzer = textAnalyzer
	text.Store = true              // for Hit.Fragment
	text.IncludeTermVectors = true // positions, for phrases and highlighting
	text.IncludeInAll = false
	text.DocValues = false

	kind := bleve.NewKeywordFieldMapping()
	kind.Analyzer = keyword.Name
	kind.Store = true // for Hit.Kind and the kinds merge in Index
	kind.IncludeInAll = false
	kind.DocValues = false

	id := bleve.NewKeywordFieldMapping()
	id.Analyzer = keyword.Name
	id.Store = false
	id.IncludeInAll = false
	id.DocValues = true

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fieldText, text)
	doc.AddFieldMappingsAt(fieldKind, kind)
	doc.AddFieldMappingsAt(fieldID, id)
	// No "_all" composite field: every query names its field, and building
	// it cost 7% of indexing CPU.
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

	m.DefaultMapping = doc
	m.DefaultAnalyzer = textAnalyzer
	m.DefaultField = fieldText
	m.ScoringModel = index.BM25Scoring
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m, m.Validate()
}
