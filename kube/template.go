package kube

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// templateFields flattens a pod template into the paths engine.DiffColors
// compares (engine/diff.go lists them). Values from Secrets are named by
// Secret and key, never read: the diff is shown to people and posted to
// chat.
func templateFields(t corev1.PodTemplateSpec) map[string]string {
	f := map[string]string{}
	for k, v := range t.Labels {
		f["label/"+k] = v
	}
	for k, v := range t.Annotations {
		f["annotation/"+k] = v
	}
	if sa := t.Spec.ServiceAccountName; sa != "" {
		f["serviceAccount"] = sa
	}
	for _, v := range t.Spec.Volumes {
		f["volume/"+v.Name] = volumeSource(v.VolumeSource)
	}
	for _, c := range t.Spec.InitContainers {
		containerFields(f, "initContainer/"+c.Name+"/", c)
	}
	for _, c := range t.Spec.Containers {
		containerFields(f, "container/"+c.Name+"/", c)
	}
	return f
}

func containerFields(f map[string]string, p string, c corev1.Container) {
	f[p+"image"] = c.Image
	if len(c.Command) > 0 {
		f[p+"command"] = quoteAll(c.Command)
	}
	if len(c.Args) > 0 {
		f[p+"args"] = quoteAll(c.Args)
	}
	if c.WorkingDir != "" {
		f[p+"workingDir"] = c.WorkingDir
	}
	for _, e := range c.Env {
		f[p+"env/"+e.Name] = envSource(e)
	}
	for _, e := range c.EnvFrom {
		switch {
		case e.ConfigMapRef != nil:
			f[p+"envFrom/"+e.Prefix+"configMap:"+e.ConfigMapRef.Name] = "configMapRef " + e.ConfigMapRef.Name + prefixNote(e.Prefix)
		case e.SecretRef != nil:
			f[p+"envFrom/"+e.Prefix+"secret:"+e.SecretRef.Name] = "secretRef " + e.SecretRef.Name + prefixNote(e.Prefix)
		}
	}
	for name, q := range c.Resources.Requests {
		f[p+"resources/requests/"+string(name)] = q.String()
	}
	for name, q := range c.Resources.Limits {
		f[p+"resources/limits/"+string(name)] = q.String()
	}
	for kind, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if pr != nil {
			f[p+"probe/"+kind] = probe(pr)
		}
	}
	for _, port := range c.Ports {
		name := port.Name
		if name == "" {
			name = strconv.Itoa(int(port.ContainerPort))
		}
		proto := port.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		f[p+"port/"+name] = fmt.Sprintf("%d/%s", port.ContainerPort, proto)
	}
	for _, m := range c.VolumeMounts {
		v := m.Name
		if m.SubPath != "" {
			v += " subPath " + m.SubPath
		}
		if m.ReadOnly {
			v += " (read-only)"
		}
		f[p+"mount/"+m.MountPath] = v
	}
}

// envSource says where a variable's value comes from; a literal value is
// quoted, a Secret's is named and never read.
func envSource(e corev1.EnvVar) string {
	s := e.ValueFrom
	switch {
	case s == nil:
		return strconv.Quote(e.Value)
	case s.SecretKeyRef != nil:
		return "secretKeyRef " + s.SecretKeyRef.Name + "/" + s.SecretKeyRef.Key
	case s.ConfigMapKeyRef != nil:
		return "configMapKeyRef " + s.ConfigMapKeyRef.Name + "/" + s.ConfigMapKeyRef.Key
	case s.FieldRef != nil:
		return "fieldRef " + s.FieldRef.FieldPath
	case s.ResourceFieldRef != nil:
		return "resourceFieldRef " + s.ResourceFieldRef.Resource
	}
	return "valueFrom"
}

func prefixNote(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " prefix " + prefix
}

func volumeSource(v corev1.VolumeSource) string {
	switch {
	case v.ConfigMap != nil:
		return "configMap " + v.ConfigMap.Name
	case v.Secret != nil:
		return "secret " + v.Secret.SecretName
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim " + v.PersistentVolumeClaim.ClaimName
	case v.EmptyDir != nil:
		return "emptyDir"
	case v.Projected != nil:
		var parts []string
		for _, s := range v.Projected.Sources {
			switch {
			case s.ConfigMap != nil:
				parts = append(parts, "configMap "+s.ConfigMap.Name)
			case s.Secret != nil:
				parts = append(parts, "secret "+s.Secret.Name)
			case s.ServiceAccountToken != nil:
				parts = append(parts, "serviceAccountToken")
			case s.DownwardAPI != nil:
				parts = append(parts, "downwardAPI")
			}
		}
		slices.Sort(parts)
		return "projected " + strings.Join(parts, ", ")
	case v.HostPath != nil:
		return "hostPath " + v.HostPath.Path
	case v.DownwardAPI != nil:
		return "downwardAPI"
	}
	return "other"
}

// probe says what a probe checks and how often, in one line.
func probe(p *corev1.Probe) string {
	var what string
	switch h := p.ProbeHandler; {
	case h.HTTPGet != nil:
		what = fmt.Sprintf("httpGet :%s%s", h.HTTPGet.Port.String(), h.HTTPGet.Path)
		if h.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			what += " (https)"
		}
	case h.TCPSocket != nil:
		what = "tcpSocket " + h.TCPSocket.Port.String()
	case h.GRPC != nil:
		what = "grpc " + strconv.Itoa(int(h.GRPC.Port))
	case h.Exec != nil:
		what = "exec " + quoteAll(h.Exec.Command)
	}
	return fmt.Sprintf("%s delay %ds period %ds timeout %ds failures %d", what,
		p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold)
}

// quoteAll writes a command line so that the argument boundaries show.
func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}
