package spec

import (
	"strings"
)

// Color is one side of a blue-green pair.
type Color string

// The two colors of a blue-green pair.
const (
	Blue  Color = "blue"
	Green Color = "green"
)

// Other returns the opposite color, or "" for anything that is not blue or
// green (a maintenance selector, say).
func (c Color) Other() Color {
	switch c {
	case Blue:
		return Green
	case Green:
		return Blue
	}
	return ""
}

// Valid reports whether c is blue or green.
func (c Color) Valid() bool { return c == Blue || c == Green }

// DefaultSelectorKey is the Service selector label that names the live color.
const DefaultSelectorKey = "color"

// Target names one blue-green pair: a Service and the Deployment of each
// color, in one cluster.
type Target struct {
	// Context is the kubeconfig context; "" is the current one.
	Context     string
	Namespace   string
	Service     string
	SelectorKey string
	Blue, Green string
}

// Deployment returns the name of c's Deployment.
func (t Target) Deployment(c Color) string {
	if c == Green {
		return t.Green
	}
	return t.Blue
}

// WithDefaults fills the selector key and, by the convention
// <name>-blue/<name>-green, the Deployment names. <name> is the Service's
// name without a "-service" or "-svc" suffix.
func (t Target) WithDefaults() Target {
	if t.SelectorKey == "" {
		t.SelectorKey = DefaultSelectorKey
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(t.Service, "-service"), "-svc")
	if t.Blue == "" {
		t.Blue = stem + "-blue"
	}
	if t.Green == "" {
		t.Green = stem + "-green"
	}
	return t
}

func (t Target) String() string { return t.Namespace + "/" + t.Service }
