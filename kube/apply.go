package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// Apply applies every object in the .yaml, .yml and .json files under dir
// to namespace with server-side apply, as field manager "cutover". Objects
// are applied in file order, files in lexical order. Every file is read and
// decoded before anything is applied, so a broken file changes nothing.
func (c *Cluster) Apply(ctx context.Context, namespace, dir string) ([]string, error) {
	objs, err := c.apply(ctx, namespace, dir, false)
	var applied []string
	for _, o := range objs {
		applied = append(applied, o.GetKind()+"/"+o.GetName())
	}
	return applied, err
}

// apply applies the manifests in dir and returns the objects as the API
// server stored them or, with dryRun, as it would store them, changing
// nothing.
func (c *Cluster) apply(ctx context.Context, namespace, dir string, dryRun bool) ([]*unstructured.Unstructured, error) {
	if c.cfg == nil {
		return nil, errors.New("apply manifests: this cluster client has no REST config (build it with NewForConfig)")
	}
	objs, err := readManifests(dir)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.cfg)
	if err != nil {
		return nil, fmt.Errorf("apply manifests: %w", err)
	}
	groups, err := restmapper.GetAPIGroupResourcesWithContext(ctx, disc)
	if err != nil {
		return nil, fmt.Errorf("apply manifests: discover the API: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn, err := dynamic.NewForConfig(c.cfg)
	if err != nil {
		return nil, fmt.Errorf("apply manifests: %w", err)
	}
	var applied []*unstructured.Unstructured
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, m := range objs {
		gvk := m.obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return applied, fmt.Errorf("apply %s: %w", m, err)
		}
		res := dyn.Resource(mapping.Resource)
		var ri dynamic.ResourceInterface = res
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if ns := m.obj.GetNamespace(); ns != "" && ns != namespace {
				return applied, fmt.Errorf("apply %s: it names namespace %q, but the step deploys to %q", m, ns, namespace)
			}
			m.obj.SetNamespace(namespace)
			ri = res.Namespace(namespace)
		}
		out, err := ri.Apply(ctx, m.obj.GetName(), m.obj, opts)
		if err != nil {
			return applied, fmt.Errorf("apply %s: %w", m, err)
		}
		applied = append(applied, out)
	}
	return applied, nil
}

type manifest struct {
	file string
	doc  int
	obj  *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s %s (%s, document %d)", m.obj.GetKind(), m.obj.GetName(), m.file, m.doc)
}

func readManifests(dir string) ([]manifest, error) {
	var out []manifest
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if de.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path) //nolint:gosec // the pipeline names its manifests
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for doc := 1; ; doc++ {
			var raw map[string]any
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: document %d: %w", path, doc, err)
			}
			if len(raw) == 0 {
				continue
			}
			obj := &unstructured.Unstructured{Object: raw}
			switch {
			case obj.GetAPIVersion() == "" || obj.GetKind() == "":
				return fmt.Errorf("%s: document %d: apiVersion and kind are required", path, doc)
			case obj.GetName() == "":
				return fmt.Errorf("%s: document %d: %s has no metadata.name", path, doc, obj.GetKind())
			}
			out = append(out, manifest{file: path, doc: doc, obj: obj})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests in %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read manifests in %s: no objects found", dir)
	}
	return out, nil
}
