package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestRouterFollowsTheSelector: requests go to the process playing the
// color the Service selects, and to the other one once the selector
// changes; a color with no process is counted, not hidden.
func TestRouterFollowsTheSelector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := start(ctx, t)
	ns, err := Namespace(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	// The Service alone is enough: the router reads its selector only.
	if err := CreatePair(ctx, c.Client, ns, Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 0, Green: 0}); err != nil {
		t.Fatal(err)
	}
	backends := map[string]string{}
	for _, color := range []string{"blue", "green"} {
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, color) }), ReadHeaderTimeout: time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		backends[color] = l.Addr().String()
	}
	r, err := StartRouter(ctx, c.Client, ns, "web-service", "color", backends)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	get := func() string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+"/", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if got := get(); got != "blue" {
		t.Fatalf("before the switch: %q, want blue", got)
	}
	selectColor := func(color string) {
		patch := `{"spec":{"selector":{"color":"` + color + `"}}}`
		if _, err := c.Client.CoreV1().Services(ns).Patch(ctx, "web-service", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(color string) {
		deadline := time.Now().Add(10 * time.Second)
		for r.Live() != color {
			if time.Now().After(deadline) {
				t.Fatalf("the router still routes to %s, 10s after the selector named %s", r.Live(), color)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	selectColor("green")
	waitFor("green")
	if got := get(); got != "green" {
		t.Errorf("after the switch: %q, want green", got)
	}
	selectColor("maintenance")
	waitFor("maintenance")
	if got := get(); r.Unrouted() != 1 || got == "blue" || got == "green" {
		t.Errorf("a color with no backend: %q, %d unrouted; want it counted", got, r.Unrouted())
	}
}
