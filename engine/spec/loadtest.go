package spec

// LoadTestSpec is a loadtest step: the guide's stage 5. It sends Rate
// requests a second to Target for Duration and fails when the results
// break a threshold.
type LoadTestSpec struct {
	Target string `json:"target"`
	// Method defaults to GET.
	Method   string   `json:"method,omitempty" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE"`
	Rate     int      `json:"rate" jsonschema:"minimum=1,maximum=10000"`
	Duration Duration `json:"duration"`
	// RequestTimeout bounds each request (default 10s).
	RequestTimeout Duration          `json:"requestTimeout,omitempty"`
	Thresholds     LoadThresholds    `json:"thresholds,omitzero"`
	Headers        map[string]string `json:"headers,omitempty"`
}

// LoadThresholds are what a load test must meet; the guide's are p95 under
// 2s, errors under 5% and at least 10 requests a second.
type LoadThresholds struct {
	// P95 is the longest the 95th percentile may be.
	P95 Duration `json:"p95,omitempty"`
	// ErrorRate is the largest share of failed requests (0.05 is 5%).
	ErrorRate *float64 `json:"errorRate,omitempty" jsonschema:"minimum=0,maximum=1"`
	// MinRate is the fewest successful requests a second.
	MinRate float64 `json:"minRate,omitempty" jsonschema:"minimum=0"`
}
