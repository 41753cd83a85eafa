// Package spec is what a pipeline file can say, and how it is read: every
// type a pipeline file contains (Pipeline, Stage, Step and each step
// kind's spec), the loader (LoadFile, Load: a nesting scan, YAML, the
// decoder and validation, with file:line:col and "did you mean" in every
// error), variables and secrets (Vars, Exports), and the JSON Schema
// (Schema). The schema generator, docs/pipeline.md and a reader start
// here.
//
// It imports the standard library, the YAML and JSON Schema libraries, and
// no other cutover package: the engine runs what spec describes.
package spec
