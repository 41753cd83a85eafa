package spec

// AlertsSpec is an alerts step: it fails while any of Alerts (every alert,
// when the list is empty) fires with Labels among its labels.
type AlertsSpec struct {
	Alerts []string          `json:"alerts,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}
