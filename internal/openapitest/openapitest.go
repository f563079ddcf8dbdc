// Package openapitest holds what the hub's and the cloud's OpenAPI
// conformance tests share: loading a served document, checking that it
// is a valid OpenAPI 3.0 document, and listing its operations.
package openapitest

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Load parses the document served at path (body b), and fails tb unless
// it is a valid OpenAPI 3.0 document.
func Load(tb testing.TB, path string, b []byte) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		tb.Fatalf("%s is not a valid OpenAPI document: %v", path, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		tb.Fatalf("%s is OpenAPI %s, want 3.0.x", path, doc.OpenAPI)
	}
	return doc
}

// Operations lists the document's operations as "METHOD path".
func Operations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}
