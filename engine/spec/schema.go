package spec

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the pipeline file's JSON Schema.
const SchemaID = "https://cutover.dev/schemas/pipeline-v1alpha1.json"

// Schema returns the JSON Schema of the pipeline file, generated from the Go
// types so that it cannot drift from what the loader accepts.
func Schema() ([]byte, error) {
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
