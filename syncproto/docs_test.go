package syncproto

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The reference document is for people who will never read this code, so
// its examples must be valid and it must describe every type and field.

func readReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReferenceExamplesAreValid(t *testing.T) {
	doc := readReference(t)
	blocks := strings.Split(doc, "```json\n")[1:]
	if len(blocks) < 5 {
		t.Fatalf("found %d JSON examples in docs/events.md", len(blocks))
	}
	for i, b := range blocks {
		example, _, _ := strings.Cut(b, "```")
		if _, err := Unmarshal([]byte(example)); err != nil {
			t.Errorf("example %d is not a valid event: %v\n%s", i+1, err, example)
		}
	}
}

func TestReferenceDescribesEveryTypeAndField(t *testing.T) {
	doc := readReference(t)
	for _, typ := range Types() {
		heading := "### `" + string(typ) + "`\n"
		_, section, ok := strings.Cut(doc, heading)
		if !ok {
			t.Errorf("docs/events.md has no section %q", strings.TrimSpace(heading))
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		section, _, _ = strings.Cut(section, "\n### ")
		// Only the field tables count: the JSON examples name fields too,
		// but showing a field is not describing it.
		var table strings.Builder
		for line := range strings.Lines(section) {
			if strings.HasPrefix(line, "|") {
				table.WriteString(line)
			}
		}
		for _, field := range jsonFields(reflect.TypeOf(newPayload(typ)).Elem()) {
			described := table.String()
			if !strings.Contains(described, "`"+field+"`") && !strings.Contains(described, `"`+field+`"`) && !strings.Contains(described, "]."+field+"`") {
				t.Errorf("section %s of docs/events.md does not describe field %s", typ, field)
			}
		}
	}
}

// jsonFields lists the JSON names of a struct's fields, nested structs'
// fields included.
func jsonFields(rt reflect.Type) []string {
	var names []string
	for f := range rt.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.Field(0).Tag.Get("json") != "" {
			names = append(names, jsonFields(ft)...)
		}
	}
	return names
}

func TestWins(t *testing.T) {
	a, b := sleepEvent().Header, sleepEvent().Header
	a.HLC, b.HLC = NewHLC(t0, 1), NewHLC(t0, 2)
	if a.Wins(b) || !b.Wins(a) {
		t.Error("the greater HLC must win")
	}
	b.HLC = a.HLC
	if a.Wins(b) == b.Wins(a) {
		t.Error("with equal HLCs exactly one event must win")
	}
	if want := a.ID.String() > b.ID.String(); a.Wins(b) != want {
		t.Error("with equal HLCs the greater id must win")
	}
}
