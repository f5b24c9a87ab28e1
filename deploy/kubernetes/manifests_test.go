// Package kubernetes_test checks the example manifests in this directory
// against the configuration contract: they are parsed as Kubernetes would
// receive them, and their settings are loaded by the real config package.
package kubernetes_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/config"
	"go.yaml.in/yaml/v3"
)

// The fields of the manifests this test looks at.
type (
	object struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   meta              `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`       // ConfigMap, Secret (base64)
		StringData map[string]string `yaml:"stringData"` // Secret
		Spec       spec              `yaml:"spec"`
		Resources  []string          `yaml:"resources"` // Kustomization
		file       string
	}
	meta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	spec struct {
		// Deployment
		Replicas *int     `yaml:"replicas"`
		Selector selector `yaml:"selector"` // also PodDisruptionBudget
		Template struct {
			Metadata meta    `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
		// Service
		Type  string `yaml:"type"`
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
		// PodDisruptionBudget
		MinAvailable any `yaml:"minAvailable"`
		// Job
		BackoffLimit *int `yaml:"backoffLimit"`
		// Ingress
		Rules []struct {
			HTTP struct {
				Paths []struct {
					Path    string `yaml:"path"`
					Backend struct {
						Service struct {
							Name string `yaml:"name"`
							Port struct {
								Name   string `yaml:"name"`
								Number int    `yaml:"number"`
							} `yaml:"port"`
						} `yaml:"service"`
					} `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	}
	// selector is a Deployment's or PDB's {matchLabels}, or a Service's plain map.
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
		Plain       map[string]string `yaml:"-"`
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    *int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
		TopologySpreadConstraints     []struct {
			TopologyKey   string `yaml:"topologyKey"`
			LabelSelector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"labelSelector"`
		} `yaml:"topologySpreadConstraints"`
		Affinity struct {
			PodAntiAffinity map[string]any `yaml:"podAntiAffinity"`
		} `yaml:"affinity"`
		Containers []container `yaml:"containers"`
		Volumes    []volume    `yaml:"volumes"`
	}
	volume struct {
		Name     string         `yaml:"name"`
		EmptyDir map[string]any `yaml:"emptyDir"`
	}
	container struct {
		Name    string `yaml:"name"`
		Image   string `yaml:"image"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Command []string `yaml:"command"`
		Env     []struct {
			Name      string  `yaml:"name"`
			Value     *string `yaml:"value"`
			ValueFrom struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe   *probe `yaml:"livenessProbe"`
		ReadinessProbe  *probe `yaml:"readinessProbe"`
		StartupProbe    *probe `yaml:"startupProbe"`
		SecurityContext struct {
			RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
			RunAsUser                *int  `yaml:"runAsUser"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
)

// UnmarshalYAML reads a selector in either shape.
func (s *selector) UnmarshalYAML(n *yaml.Node) error {
	var m struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if err := n.Decode(&m); err == nil && m.MatchLabels != nil {
		s.MatchLabels = m.MatchLabels
		return nil
	}
	return n.Decode(&s.Plain)
}

// manifests reads every YAML document of every .yaml file here.
func manifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML files found (%v)", err)
	}
	var objs []object
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for i := 0; ; i++ {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if o.Kind == "" || o.APIVersion == "" {
				t.Fatalf("%s document %d has no kind or apiVersion", f, i)
			}
			o.file = f
			objs = append(objs, o)
		}
	}
	return objs
}

func one(t *testing.T, objs []object, kind string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// configEnvVars is the environment variable of every config key, from the
// mapstructure tags of config.Config (the same walk config.Load binds).
func configEnvVars() map[string]bool {
	vars := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			ft := t.Field(i).Type
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
				walk(ft, key)
				continue
			}
			vars[config.EnvVar(key)] = true
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
	return vars
}

// settings are the variables the ConfigMap and the Secret give the pods.
func settings(t *testing.T, objs []object) (plain, secret map[string]string) {
	t.Helper()
	plain = one(t, objs, "ConfigMap").Data
	s := one(t, objs, "Secret")
	secret = map[string]string{}
	for k, v := range s.StringData {
		secret[k] = v
	}
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("Secret data %s is not base64", k)
		}
		secret[k] = string(b)
	}
	return plain, secret
}

func TestManifestsParse(t *testing.T) {
	objs := manifests(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Kind]++
		if o.Metadata.Name == "" && o.Kind != "Kustomization" {
			t.Errorf("%s: a %s without metadata.name", o.file, o.Kind)
		}
		switch o.Kind {
		case "Namespace", "Kustomization":
		default:
			if o.Metadata.Namespace != "mdebot" {
				t.Errorf("%s: %s/%s is in namespace %q, want mdebot", o.file, o.Kind, o.Metadata.Name, o.Metadata.Namespace)
			}
		}
	}
	for _, k := range []string{"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget", "Ingress"} {
		if kinds[k] != 1 {
			t.Errorf("%d %s objects, want 1", kinds[k], k)
		}
	}
	// kustomization.yaml lists files that exist and parse.
	k := one(t, objs, "Kustomization")
	if len(k.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	for _, r := range k.Resources {
		if !slices.ContainsFunc(objs, func(o object) bool { return o.file == r }) {
			t.Errorf("kustomization.yaml lists %s, which is not a manifest here", r)
		}
	}
}

// Every variable the manifests set is a real config key's variable, and
// secrets are in the Secret, never in the ConfigMap.
func TestManifestEnvVarsAreConfigKeys(t *testing.T) {
	objs := manifests(t)
	known := configEnvVars()
	if !known["MDEBOT_STORE_ENCRYPTION_KEY"] || !known["MDEBOT_POLICY_CHANNELS"] {
		t.Fatalf("the config walk missed keys: %v", known)
	}
	plain, secret := settings(t, objs)
	names := map[string]string{}
	for k := range plain {
		names[k] = "ConfigMap"
	}
	for k := range secret {
		if names[k] != "" {
			t.Errorf("%s is set in both the ConfigMap and the Secret", k)
		}
		names[k] = "Secret"
	}
	for _, c := range one(t, objs, "Deployment").Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			names[e.Name] = "Deployment env"
		}
	}
	if len(names) == 0 {
		t.Fatal("the manifests set no variable")
	}
	for name, where := range names {
		if !known[name] {
			t.Errorf("%s sets %s, which is not the variable of any config key (docs/configuration.md)", where, name)
		}
	}
	for _, s := range []string{"MDEBOT_SLACK_BOT_TOKEN", "MDEBOT_SLACK_APP_TOKEN", "MDEBOT_SLACK_SIGNING_SECRET",
		"MDEBOT_IDENTITY_CLIENT_SECRET", "MDEBOT_STORE_ENCRYPTION_KEY", "MDEBOT_STORE_DSN"} {
		if names[s] != "Secret" {
			t.Errorf("%s is a secret: want it in the Secret, found it in %q", s, names[s])
		}
	}
}

// The ConfigMap and the Secret, loaded by the real config package, are a
// valid HA configuration once the placeholders are filled in, and until then
// check-config names each placeholder.
func TestManifestSettingsLoad(t *testing.T) {
	plain, secret := settings(t, manifests(t))
	env := map[string]string{}
	for k, v := range plain {
		env[k] = v
	}
	for k, v := range secret {
		env[k] = v
	}
	// What an operator fills in, per variable holding a placeholder.
	fill := map[string]func(string) string{
		"MDEBOT_HTTP_PUBLIC_URL":        whole("https://mdebot.example.com"),
		"MDEBOT_IDENTITY_TENANT_ID":     whole("72f988bf-86f1-41af-91ab-2d7cd011db47"),
		"MDEBOT_IDENTITY_CLIENT_ID":     whole("11111111-2222-3333-4444-555555555555"),
		"MDEBOT_SLACK_BOT_TOKEN":        whole("xoxb-1-test"),
		"MDEBOT_SLACK_APP_TOKEN":        whole("xapp-1-test"),
		"MDEBOT_IDENTITY_CLIENT_SECRET": whole("test-client-secret"),
		"MDEBOT_STORE_ENCRYPTION_KEY":   whole(base64.StdEncoding.EncodeToString(make([]byte, 32))),
		"MDEBOT_STORE_DSN":              func(s string) string { return strings.ReplaceAll(s, config.Placeholder, "password") },
		// The approvers of inc-*, then the SOC channel.
		"MDEBOT_POLICY_CHANNELS": func(s string) string {
			s = strings.Replace(s, config.Placeholder, "S0LEADS", 1)
			return strings.Replace(s, config.Placeholder, "C0SOC", 1)
		},
	}

	// As shipped: every problem is a placeholder to fill in.
	cfg := load(t, env)
	problems := cfg.Validate()
	if len(problems) == 0 {
		t.Fatal("the template validates with its placeholders in it")
	}
	for _, p := range problems {
		if !strings.Contains(p.Message, "placeholder") {
			t.Errorf("problem other than a placeholder: %s", p)
		}
	}

	filled := map[string]string{}
	for k, v := range env {
		if strings.Contains(v, config.Placeholder) {
			f, ok := fill[k]
			if !ok {
				t.Fatalf("%s holds a placeholder this test does not know how to fill", k)
			}
			v = f(v)
		}
		filled[k] = v
	}
	cfg = load(t, filled)
	if ps := cfg.Validate(); ps != nil {
		t.Fatalf("filled-in manifests do not validate:\n%v", ps)
	}
	if cfg.Store.Driver != "postgres" {
		t.Errorf("store.driver = %q: replicas need the shared PostgreSQL store", cfg.Store.Driver)
	}
	if cfg.HTTP.Listen != ":8080" {
		t.Errorf("http.listen = %q, but the Deployment's probes and Service use 8080", cfg.HTTP.Listen)
	}
	if len(cfg.Policy.Channels) != 2 || cfg.Policy.Channels[0].Delivery != "upload" || !cfg.Policy.Channels[0].Approval.Required {
		t.Errorf("MDEBOT_POLICY_CHANNELS read as %+v", cfg.Policy.Channels)
	}
}

func whole(v string) func(string) string { return func(string) string { return v } }

// load runs config.Load with exactly env as the MDEBOT_* environment (an
// empty variable counts as unset, which hides the developer's own).
func load(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	for name := range configEnvVars() {
		t.Setenv(name, env[name])
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

func TestDeployment(t *testing.T) {
	objs := manifests(t)
	d := one(t, objs, "Deployment")
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Metadata.Labels

	if d.Spec.Replicas == nil {
		t.Fatal("replicas is not set (Kubernetes would run 1)")
	}
	if *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %d, want at least 2", *d.Spec.Replicas)
	}
	if !subset(d.Spec.Selector.MatchLabels, labels) || len(d.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("selector %v does not select the pod labels %v", d.Spec.Selector.MatchLabels, labels)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 25 || *g > 60 {
		t.Errorf("terminationGracePeriodSeconds = %v, want about 30 (shutdown waits up to 20 s)", g)
	}
	spread := false
	for _, c := range pod.TopologySpreadConstraints {
		spread = spread || (c.TopologyKey != "" && subset(c.LabelSelector.MatchLabels, labels) && len(c.LabelSelector.MatchLabels) > 0)
	}
	if !spread && len(pod.Affinity.PodAntiAffinity) == 0 {
		t.Error("no topologySpreadConstraint on the pods' labels and no podAntiAffinity: both replicas may share a node")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// Non-root: the image's user 65532, never 0.
	sc, csc := pod.SecurityContext, c.SecurityContext
	if !isTrue(sc.RunAsNonRoot) && !isTrue(csc.RunAsNonRoot) {
		t.Error("runAsNonRoot is not set")
	}
	for _, u := range []*int{sc.RunAsUser, csc.RunAsUser} {
		if u != nil && *u == 0 {
			t.Error("runAsUser is 0 (root)")
		}
	}
	if !isTrue(csc.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("capabilities do not drop ALL")
	}
	tmp := ""
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmp = m.Name
		}
	}
	if tmp == "" || !slices.ContainsFunc(pod.Volumes, func(v volume) bool { return v.Name == tmp && v.EmptyDir != nil }) {
		t.Error("/tmp is not an emptyDir volume (the root file system is read-only)")
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources = %+v, want cpu and memory requests and a memory limit", c.Resources)
	}

	// Configuration from the ConfigMap and the Secret.
	var cms, secrets []string
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			cms = append(cms, ef.ConfigMapRef.Name)
		}
		if ef.SecretRef != nil {
			secrets = append(secrets, ef.SecretRef.Name)
		}
	}
	if want := one(t, objs, "ConfigMap").Metadata.Name; !slices.Contains(cms, want) {
		t.Errorf("envFrom ConfigMaps %v, want %s", cms, want)
	}
	if want := one(t, objs, "Secret").Metadata.Name; !slices.Contains(secrets, want) {
		t.Errorf("envFrom Secrets %v, want %s", secrets, want)
	}

	// Probes on the HTTP routes of DESIGN.md, on http.listen's port.
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, tc := range []struct {
		name string
		p    *probe
		path string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if tc.p == nil || tc.p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", tc.name)
			continue
		}
		if tc.p.HTTPGet.Path != tc.path {
			t.Errorf("%s path = %q, want %s", tc.name, tc.p.HTTPGet.Path, tc.path)
		}
		if got := resolvePort(tc.p.HTTPGet.Port, ports); got != 8080 {
			t.Errorf("%s port = %v (%d), want 8080", tc.name, tc.p.HTTPGet.Port, got)
		}
	}
	if p := c.StartupProbe; p != nil && (p.HTTPGet == nil || p.HTTPGet.Path != "/healthz") {
		t.Error("startupProbe, when present, should GET /healthz")
	}
}

func TestServicePDBIngress(t *testing.T) {
	objs := manifests(t)
	d := one(t, objs, "Deployment")
	labels := d.Spec.Template.Metadata.Labels
	ports := map[string]int{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		ports[p.Name] = p.ContainerPort
	}

	svc := one(t, objs, "Service")
	if svc.Spec.Type != "" && svc.Spec.Type != "ClusterIP" {
		t.Errorf("Service type %q, want ClusterIP", svc.Spec.Type)
	}
	if sel := svc.Spec.Selector.Plain; len(sel) == 0 || !subset(sel, labels) {
		t.Errorf("Service selector %v does not select the pods %v", sel, labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || resolvePort(svc.Spec.Ports[0].TargetPort, ports) != 8080 {
		t.Errorf("Service ports %+v, want 80 -> 8080", svc.Spec.Ports)
	}

	pdb := one(t, objs, "PodDisruptionBudget")
	if got, ok := pdb.Spec.MinAvailable.(int); !ok || got != 1 {
		t.Errorf("PDB minAvailable = %v, want 1", pdb.Spec.MinAvailable)
	}
	if sel := pdb.Spec.Selector.MatchLabels; len(sel) == 0 || !subset(sel, labels) {
		t.Errorf("PDB selector %v does not select the pods %v", sel, labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas <= 1 {
		t.Error("minAvailable 1 with a single replica would block every node drain")
	}

	ing := one(t, objs, "Ingress")
	var paths []string
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			paths = append(paths, p.Path)
			b := p.Backend.Service
			if b.Name != svc.Metadata.Name || (b.Port.Name != svc.Spec.Ports[0].Name && b.Port.Number != svc.Spec.Ports[0].Port) {
				t.Errorf("Ingress path %s goes to %s:%v, want the Service %s port %d", p.Path, b.Name, b.Port, svc.Metadata.Name, svc.Spec.Ports[0].Port)
			}
		}
	}
	for _, want := range []string{"/auth/callback", "/auth/confirm", "/slack"} {
		if !slices.Contains(paths, want) {
			t.Errorf("Ingress paths %v lack %s", paths, want)
		}
	}
	for _, internal := range []string{"/", "/metrics", "/healthz", "/readyz"} {
		if slices.Contains(paths, internal) {
			t.Errorf("Ingress exposes %s publicly", internal)
		}
	}
}

// The key-rotation Job: run by hand (never by `kubectl apply -k`), against
// the Deployment's database, with both keys from Secrets.
func TestRekeyJob(t *testing.T) {
	objs := manifests(t)
	job := one(t, objs, "Job")
	if slices.Contains(one(t, objs, "Kustomization").Resources, job.file) {
		t.Errorf("kustomization.yaml applies %s: the rekey would run on every apply", job.file)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Error("backoffLimit should be 0: a failed rekey is looked at, not retried blindly")
	}
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) < 2 || c.Command[0] != "/mdebot" || c.Command[1] != "rekey" {
		t.Errorf("command %v, want /mdebot rekey", c.Command)
	}
	for _, arg := range c.Command[min(2, len(c.Command)):] {
		if arg != "--drop-unreadable" {
			t.Errorf("unexpected argument %q (keys never go on the command line)", arg)
		}
	}
	d := one(t, objs, "Deployment").Spec.Template.Spec.Containers[0]
	if c.Image != d.Image {
		t.Errorf("image %s, want the Deployment's %s", c.Image, d.Image)
	}
	if !isTrue(pod.SecurityContext.RunAsNonRoot) || !isTrue(c.SecurityContext.ReadOnlyRootFilesystem) {
		t.Error("the Job should run non-root on a read-only root file system, like the Deployment")
	}
	if !reflect.DeepEqual(c.EnvFrom, d.EnvFrom) {
		t.Errorf("envFrom %+v, want the Deployment's %+v (the same database)", c.EnvFrom, d.EnvFrom)
	}

	secret := one(t, objs, "Secret")
	known := configEnvVars()
	from := map[string][2]string{} // variable -> secret name, key
	for _, e := range c.Env {
		if !known[e.Name] && e.Name != "MDEBOT_STORE_OLD_ENCRYPTION_KEY" {
			t.Errorf("env %s is neither a config variable nor MDEBOT_STORE_OLD_ENCRYPTION_KEY", e.Name)
		}
		if e.Value != nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s should come from a Secret, not a literal value", e.Name)
			continue
		}
		from[e.Name] = [2]string{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
	}
	if got, want := from["MDEBOT_STORE_OLD_ENCRYPTION_KEY"], [2]string{secret.Metadata.Name, "MDEBOT_STORE_ENCRYPTION_KEY"}; got != want {
		t.Errorf("old key from %v, want the running key %v", got, want)
	}
	if _, ok := secret.StringData["MDEBOT_STORE_ENCRYPTION_KEY"]; !ok {
		t.Error("the Secret has no MDEBOT_STORE_ENCRYPTION_KEY for the Job to read as the old key")
	}
	if got := from["MDEBOT_STORE_ENCRYPTION_KEY"]; got[0] == "" || got[0] == secret.Metadata.Name || got[1] != "MDEBOT_STORE_ENCRYPTION_KEY" {
		t.Errorf("new key from %v, want MDEBOT_STORE_ENCRYPTION_KEY of another Secret", got)
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

// resolvePort turns a port number or a named container port into a number (0 if unknown).
func resolvePort(p any, named map[string]int) int {
	switch v := p.(type) {
	case int:
		return v
	case string:
		return named[v]
	}
	return 0
}
