package spec

// BlueGreenSpec is a blueGreen step: release Image to the color that is not
// live, switch the Service to it, and scale the old color down later.
type BlueGreenSpec struct {
	// Context is the kubeconfig context of the cluster; "" is the current
	// one.
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	// SelectorKey is the Service selector label naming the live color
	// (default "color").
	SelectorKey string `json:"selectorKey,omitempty"`
	// Deployments names each color's Deployment (default
	// <service>-blue and <service>-green, without a -service suffix).
	Deployments ColorNames `json:"deployments,omitzero"`
	Container   string     `json:"container"`
	Image       string     `json:"image"`
	Replicas    int32      `json:"replicas" jsonschema:"minimum=1"`
	// ScaleDownDelay keeps the old color warm after the switch, so that a
	// rollback in that window is a single patch.
	ScaleDownDelay Duration `json:"scaleDownDelay,omitempty"`
	// Approve, when set, is a gate between the preview being ready and the
	// switch; its text is the instruction shown.
	Approve string `json:"approve,omitempty"`
	// Maintenance is the selectorKey value of a maintenance page's pods;
	// `cutover maintenance` points the Service at them and back.
	Maintenance string `json:"maintenance,omitempty"`
	// PrePromotion is an analysis of the ready preview: if it fails there
	// is no switch.
	PrePromotion *AnalysisSpec `json:"prePromotion,omitempty"`
	// PostPromotion is an analysis after the switch: if it fails, traffic
	// goes back at once (autoRollback, the default) or a person decides.
	PostPromotion *AnalysisSpec `json:"postPromotion,omitempty"`
	AutoRollback  *bool         `json:"autoRollback,omitempty"`
}

// RollsBackAutomatically reports whether a failed post-promotion analysis
// rolls back without asking (the default).
func (s BlueGreenSpec) RollsBackAutomatically() bool { return s.AutoRollback == nil || *s.AutoRollback }

// DeploySpec is a deploy step, the guide's staging deploy: apply a
// directory of manifests server-side, set the image, and wait for the
// rollout the way `kubectl rollout status` does.
type DeploySpec struct {
	// Context is the kubeconfig context of the cluster; "" is the current
	// one.
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	// Manifests is a directory of manifests, relative to the pipeline
	// file, applied before the image is set.
	Manifests  string `json:"manifests,omitempty"`
	Deployment string `json:"deployment"`
	Container  string `json:"container"`
	Image      string `json:"image"`
}

// ColorNames names the Deployment of each color.
type ColorNames struct {
	Blue  string `json:"blue,omitempty"`
	Green string `json:"green,omitempty"`
}

// Target returns the pair the spec names.
func (s BlueGreenSpec) Target() Target {
	return Target{
		Context: s.Context, Namespace: s.Namespace, Service: s.Service, SelectorKey: s.SelectorKey,
		Blue: s.Deployments.Blue, Green: s.Deployments.Green,
	}.WithDefaults()
}
