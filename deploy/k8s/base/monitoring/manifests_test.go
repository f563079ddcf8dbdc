package monitoring

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const dashboardConfigMap = "zoner-grafana-dashboard"

// decodeStrict decodes one YAML document into v, refusing unknown fields.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	return decodeJSONStrict(j, v)
}

func decodeJSONStrict(j []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// documents splits a multi-document YAML file.
func documents(b []byte) [][]byte {
	var docs [][]byte
	for d := range strings.SplitSeq(string(b), "\n---\n") {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rendered is this directory as kustomize builds it, every object decoded
// strictly into its Go type: the Prometheus Operator's for its kinds,
// the Kubernetes API's for the ConfigMap.
type rendered struct {
	rule        *monitoringv1.PrometheusRule
	podMonitors []monitoringv1.PodMonitor
	configMaps  map[string]corev1.ConfigMap
	objects     []string // kind/name
}

// render builds the kustomization with kustomize's own library, as
// kubectl apply -k would.
func render(t testing.TB) *rendered {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	r := &rendered{configMaps: map[string]corev1.ConfigMap{}}
	for _, res := range m.Resources() {
		id := res.GetKind() + "/" + res.GetName()
		if slices.Contains(r.objects, id) {
			t.Errorf("%s twice", id)
		}
		r.objects = append(r.objects, id)
		j, err := res.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		switch gvk := res.GetApiVersion() + " " + res.GetKind(); gvk {
		case "monitoring.coreos.com/v1 PrometheusRule":
			if r.rule != nil {
				t.Fatalf("%s: a second PrometheusRule", id)
			}
			r.rule = new(monitoringv1.PrometheusRule)
			err = decodeJSONStrict(j, r.rule)
		case "monitoring.coreos.com/v1 PodMonitor":
			var pm monitoringv1.PodMonitor
			err = decodeJSONStrict(j, &pm)
			r.podMonitors = append(r.podMonitors, pm)
		case "v1 ConfigMap":
			var cm corev1.ConfigMap
			err = decodeJSONStrict(j, &cm)
			r.configMaps[cm.Name] = cm
		default:
			t.Errorf("%s: %s is not a kind this directory holds", id, gvk)
		}
		if err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if r.rule == nil {
		t.Fatal("the render has no PrometheusRule")
	}
	return r
}

// TestKustomization renders the kustomization: it holds every manifest
// here, and generates the dashboard's ConfigMap with the Grafana sidecar's
// label, a stable name and the dashboard as it is.
func TestKustomization(t *testing.T) {
	r := render(t)
	want := []string{"ConfigMap/" + dashboardConfigMap, "PrometheusRule/zoner",
		"PodMonitor/zoner", "PodMonitor/zoner-api", "PodMonitor/zoner-kafka-exporter"}
	manifests, _ := filepath.Glob("*.yaml")
	for _, m := range manifests {
		if m == "kustomization.yaml" {
			continue
		}
		for _, doc := range documents(read(t, m)) {
			var obj metav1.PartialObjectMetadata
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			want = append(want, obj.Kind+"/"+obj.Name)
		}
	}
	for _, id := range want {
		if !slices.Contains(r.objects, id) {
			t.Errorf("the render lacks %s (has %q): is it a resource of kustomization.yaml?", id, r.objects)
		}
	}
	cm, ok := r.configMaps[dashboardConfigMap]
	switch {
	case !ok:
		t.Errorf("no ConfigMap %s (the name must carry no hash suffix)", dashboardConfigMap)
	case cm.Labels["grafana_dashboard"] != "1":
		t.Errorf("the ConfigMap's labels: %v", cm.Labels)
	case cm.Data[filepath.Base(dashboardFile)] != string(read(t, dashboardFile)):
		t.Error("the ConfigMap does not carry the dashboard as it is")
	}
}

func TestPodMonitors(t *testing.T) {
	// The rules and the dashboard filter on job="zoner-…" and "nats": the
	// job is the value of a pod label, app.kubernetes.io/name (or Strimzi's
	// strimzi.io/name, zoner-kafka-exporter).
	want := map[string]string{ // PodMonitor → port, selector, job label
		"zoner":                "metrics app.kubernetes.io/part-of=zoner app.kubernetes.io/name",
		"zoner-api":            "http app.kubernetes.io/name=zoner-api,app.kubernetes.io/part-of=zoner app.kubernetes.io/name",
		"zoner-kafka-exporter": "tcp-prometheus strimzi.io/cluster=zoner,strimzi.io/name=zoner-kafka-exporter strimzi.io/name",
	}
	got := map[string]string{}
	for _, pm := range render(t).podMonitors {
		var sel []string
		for k, v := range pm.Spec.Selector.MatchLabels {
			sel = append(sel, k+"="+v)
		}
		slices.Sort(sel)
		if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port == nil {
			t.Fatalf("%s: endpoints %+v, want one, with a port name", pm.Name, pm.Spec.PodMetricsEndpoints)
		}
		ep := pm.Spec.PodMetricsEndpoints[0]
		got[pm.Name] = *ep.Port + " " + strings.Join(sel, ",") + " " + pm.Spec.JobLabel
		iv, err1 := model.ParseDuration(string(ep.Interval))
		to, err2 := model.ParseDuration(string(ep.ScrapeTimeout))
		if err1 != nil || err2 != nil || to > iv || ep.Path != "/metrics" {
			t.Errorf("%s: path %q, interval %q, timeout %q", pm.Name, ep.Path, ep.Interval, ep.ScrapeTimeout)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("PodMonitors:\n got %q\nwant %q", got, want)
	}
}

// TestDecodeStrict proves the decoding strict: a misspelt or misplaced
// field is an error, not a field quietly dropped.
func TestDecodeStrict(t *testing.T) {
	for name, tc := range map[string]struct {
		doc string
		v   any
	}{
		"severity beside the alert": {"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n" +
			"spec: {groups: [{name: g, rules: [{alert: A, expr: up == 0, severity: critical}]}]}\n", &monitoringv1.PrometheusRule{}},
		"misspelt endpoint field": {"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\n" +
			"spec: {selector: {}, podMetricsEndpoints: [{port: metrics, intervall: 30s}]}\n", &monitoringv1.PodMonitor{}},
	} {
		t.Run(name, func(t *testing.T) {
			err := decodeStrict([]byte(tc.doc), tc.v)
			if err == nil || !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("decodeStrict = %v, want an unknown field", err)
			}
		})
	}
}
