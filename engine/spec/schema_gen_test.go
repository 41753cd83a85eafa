package spec

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/invopop/jsonschema"

	"github.com/cutover-sh/cutover/schema"
)

// TestSchemaFileIsCurrent: the schema cutover ships and prints is the one
// the types give today. -update rewrites it (and the golden errors of
// load_test.go).
func TestSchemaFileIsCurrent(t *testing.T) {
	b, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	// -update is load_test.go's flag: one test binary has both.
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile("../../schema/pipeline.schema.json", b, 0o644); err != nil { //nolint:gosec // a file of the repository
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b, schema.Pipeline) {
		t.Fatal("schema/pipeline.schema.json is stale: run go test ./engine/spec -run TestSchemaFileIsCurrent -update")
	}
	var doc map[string]any
	if err := json.Unmarshal(schema.Pipeline, &doc); err != nil || doc["$id"] != SchemaID {
		t.Errorf("shipped schema: %v, $id %v; want %s", err, doc["$id"], SchemaID)
	}
}

// generateSchema returns the JSON Schema of the pipeline file, generated
// from the Go types so that it cannot drift from what the loader accepts.
// The binary ships its output (package schema): the reflection library is
// linked into this test only.
func generateSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if t == reflect.TypeFor[Duration]() {
				return &jsonschema.Schema{
					Type:        "string",
					Pattern:     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
					Description: "A Go duration such as 90s, 15m or 1h30m.",
				}
			}
			return nil
		},
	}
	s := r.Reflect(&Pipeline{})
	// A notify target may be written as its webhook alone (see
	// shorthand), which reflection cannot know.
	for name, example := range map[string]string{"SlackTarget": "${SLACK_WEBHOOK}", "TeamsTarget": "${TEAMS_WEBHOOK}"} {
		if obj, ok := s.Definitions[name]; ok {
			s.Definitions[name] = &jsonschema.Schema{OneOf: []*jsonschema.Schema{
				{Type: "string", Description: "The webhook URL alone, written as a secretEnv variable: " + example + "."},
				obj,
			}}
		}
	}
	s.ID = SchemaID
	s.Title = "cutover pipeline"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode pipeline schema: %w", err)
	}
	return append(b, '\n'), nil
}
