// Package schema is the JSON Schema of the pipeline file, as shipped. It is
// generated from engine/spec's types by a test there
// (TestSchemaFileIsCurrent, which -update rewrites), so that the binary
// carries the file rather than the reflection library that makes it.
package schema

import _ "embed" // the schema file

// Pipeline is schema/pipeline.schema.json.
//
//go:embed pipeline.schema.json
var Pipeline []byte
