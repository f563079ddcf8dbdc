package k8s

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// target is one kustomization the tests render: the base, and every
// directory under overlays/.
type target struct {
	name string // "base", or the overlay's directory name
	dir  string
}

func (t target) overlay() bool { return t.name != "base" }

// targets lists the base and the overlays; dev and prod must be there.
func targets(t *testing.T) []target {
	t.Helper()
	ts := []target{{"base", "base"}}
	entries, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			ts = append(ts, target{e.Name(), filepath.Join("overlays", e.Name())})
		}
	}
	for _, want := range []string{"dev", "prod"} {
		if !slices.ContainsFunc(ts, func(tg target) bool { return tg.name == want }) {
			t.Errorf("no overlays/%s", want)
		}
	}
	return ts
}

// render builds dir with the kustomize API, exactly as kubectl apply -k
// would, and returns every resource as JSON.
func render(dir string) ([][]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out [][]byte
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		out = append(out, b)
	}
	return out, nil
}

// decoder decodes objects strictly into their Go types: the Kubernetes
// API's own for built-in kinds, the Prometheus Operator's and KEDA's for
// theirs, and mirror types for Strimzi's (strimzi_test.go). Only the API
// versions registered here are accepted; an unknown kind, an unknown or
// duplicated field, or a field in the wrong case is an error.
type decoder struct {
	scheme *runtime.Scheme
	strict *kjson.Serializer
}

func newDecoder(t testing.TB) *decoder {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
		rbacv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme,
		monitoringv1.AddToScheme, kedav1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return &decoder{scheme: s, strict: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s,
		kjson.SerializerOptions{Strict: true})}
}

// decode returns the typed object that raw (JSON) holds.
func (d *decoder) decode(raw []byte) (any, schema.GroupVersionKind, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return nil, schema.GroupVersionKind{}, err
	}
	gvk := tm.GroupVersionKind()
	if gvk.Group == strimziGroup {
		obj, err := decodeStrimzi(gvk, raw)
		return obj, gvk, err
	}
	if !d.scheme.Recognizes(gvk) {
		return nil, gvk, fmt.Errorf("%s is not a kind this deployment uses (add it to newDecoder to allow it)", gvk)
	}
	obj, _, err := d.strict.Decode(raw, nil, nil)
	return obj, gvk, err
}

// object is one rendered, decoded resource.
type object struct {
	gvk             schema.GroupVersionKind
	name, namespace string
	typed           any
}

func (o object) String() string { return o.gvk.Kind + "/" + o.name }

// load renders tg and decodes every object, failing the test on any error.
func load(t *testing.T, d *decoder, tg target) *bundle {
	t.Helper()
	raws, err := render(tg.dir)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{target: tg}
	for _, raw := range raws {
		typed, gvk, err := d.decode(raw)
		if err != nil {
			t.Errorf("%s: %v", describe(raw), err)
			continue
		}
		var meta metav1.ObjectMeta
		var wrapper struct {
			Metadata *metav1.ObjectMeta `json:"metadata"`
		}
		wrapper.Metadata = &meta
		if err := json.Unmarshal(raw, &wrapper); err != nil {
			t.Fatal(err)
		}
		b.add(object{gvk: gvk, name: meta.Name, namespace: meta.Namespace, typed: typed})
	}
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// describe names a raw object in an error message.
func describe(raw []byte) string {
	var o struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	json.Unmarshal(raw, &o)
	return o.APIVersion + " " + o.Kind + "/" + o.Metadata.Name
}

// Every overlay and the base build, and every object they hold decodes
// strictly into its type (load fails the test otherwise); then each
// check in checks runs on what was rendered.
func TestManifests(t *testing.T) {
	d := newDecoder(t)
	referenced := map[string]bool{}
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			b := load(t, d, tg)
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, b) })
			}
			for name := range b.secretRefs() {
				referenced[name] = true
			}
		})
	}
	for name := range requiredSecrets {
		if !referenced[name] && !t.Failed() { // a target that failed to load references nothing
			t.Errorf("requiredSecrets names %s, which no overlay uses: drop it here and in README.md", name)
		}
	}
}

// The decoding is strict: these objects, each wrong in one way, must be
// refused, and the well-formed one taken.
func TestDecodeIsStrict(t *testing.T) {
	d := newDecoder(t)
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: x
          image: x:1
          %s
`
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"well-formed", fmt.Sprintf(deployment, "imagePullPolicy: Always"), ""},
		{"misspelled field", fmt.Sprintf(deployment, "imagePullPolcy: Always"), `unknown field "spec.template.spec.containers[0].imagePullPolcy"`},
		{"field in the wrong case", fmt.Sprintf(deployment, "ImagePullPolicy: Always"), `unknown field`},
		{"duplicated field", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{},"data":{}}`, `duplicate field`},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n", "not a kind"},
		{"version not used here", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n", "not a kind"},
		{"unknown field in a ScaledObject", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: x}, maxReplicas: 3, triggers: []}\n", `unknown field "spec.maxReplicas"`},
		{"unknown field in a PodMonitor", "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\nspec: {selector: {}, podMetricsEndpoints: [{prot: metrics}]}\n", `unknown field`},
		{"unknown field in a KafkaTopic", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata: {name: x}\nspec: {topicName: x, partitions: 6, replica: 3}\n", `unknown field "spec.replica"`},
		{"unknown Strimzi kind", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata: {name: x}\n", "not a kind"},
		{"Strimzi value out of its enum", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\nmetadata: {name: x}\nspec: {replicas: 1, roles: [leader], storage: {type: ephemeral}}\n", "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.yaml)
			if !json.Valid(raw) { // JSON as it is: YAML would fold a duplicate
				var err error
				if raw, err = yaml.YAMLToJSON(raw); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := d.decode(raw)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("taken; want an error with %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q; want one with %q", err, tc.wantErr)
			}
		})
	}
}
