package k8s

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// bundle is what one target rendered, sorted by type.
type bundle struct {
	target          target
	objects         []object
	workloads       []*workload
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	serviceAccounts map[string]*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	scaledObjects   []*kedav1alpha1.ScaledObject
	netpols         []*networkingv1.NetworkPolicy
	ingresses       []*networkingv1.Ingress
	podMonitors     []*monitoringv1.PodMonitor
	serviceMonitors []*monitoringv1.ServiceMonitor
	kafkas          []*strimziKafka
	nodePools       []*strimziNodePool
	topics          []*strimziTopic
}

// workload is a Deployment or a StatefulSet: what makes pods.
type workload struct {
	kind, name string
	replicas   *int32
	selector   *metav1.LabelSelector
	pod        *corev1.PodTemplateSpec
	// serviceName and claims are a StatefulSet's governing Service and
	// volume claim templates.
	serviceName string
	claims      []corev1.PersistentVolumeClaim
}

func (w *workload) String() string { return w.kind + "/" + w.name }

func (b *bundle) add(o object) {
	b.objects = append(b.objects, o)
	if b.configMaps == nil {
		b.configMaps, b.serviceAccounts = map[string]*corev1.ConfigMap{}, map[string]*corev1.ServiceAccount{}
	}
	switch v := o.typed.(type) {
	case *appsv1.Deployment:
		b.workloads = append(b.workloads, &workload{kind: "Deployment", name: v.Name, replicas: v.Spec.Replicas,
			selector: v.Spec.Selector, pod: &v.Spec.Template})
	case *appsv1.StatefulSet:
		b.workloads = append(b.workloads, &workload{kind: "StatefulSet", name: v.Name, replicas: v.Spec.Replicas,
			selector: v.Spec.Selector, pod: &v.Spec.Template, serviceName: v.Spec.ServiceName, claims: v.Spec.VolumeClaimTemplates})
	case *corev1.Service:
		b.services = append(b.services, v)
	case *corev1.ConfigMap:
		b.configMaps[v.Name] = v
	case *corev1.ServiceAccount:
		b.serviceAccounts[v.Name] = v
	case *policyv1.PodDisruptionBudget:
		b.pdbs = append(b.pdbs, v)
	case *autoscalingv2.HorizontalPodAutoscaler:
		b.hpas = append(b.hpas, v)
	case *kedav1alpha1.ScaledObject:
		b.scaledObjects = append(b.scaledObjects, v)
	case *networkingv1.NetworkPolicy:
		b.netpols = append(b.netpols, v)
	case *networkingv1.Ingress:
		b.ingresses = append(b.ingresses, v)
	case *monitoringv1.PodMonitor:
		b.podMonitors = append(b.podMonitors, v)
	case *monitoringv1.ServiceMonitor:
		b.serviceMonitors = append(b.serviceMonitors, v)
	case *strimziKafka:
		b.kafkas = append(b.kafkas, v)
	case *strimziNodePool:
		b.nodePools = append(b.nodePools, v)
	case *strimziTopic:
		b.topics = append(b.topics, v)
	}
}

// workload returns the workload of that name, or nil.
func (b *bundle) workload(name string) *workload {
	for _, w := range b.workloads {
		if w.name == name {
			return w
		}
	}
	return nil
}

// pod is a set of pods as far as selectors and ports go: a workload's
// template, or the pods Strimzi makes for a Kafka resource.
type pod struct {
	name   string
	labels map[string]string
	ports  []corev1.ContainerPort
	w      *workload // nil for Strimzi's pods
}

// pods lists every kind of pod the target makes: the workloads', and
// those Strimzi will make from the Kafka resources (its brokers with
// their listeners, the entity operator, the Kafka exporter), labelled
// as Strimzi labels them.
func (b *bundle) pods() []pod {
	var out []pod
	for _, w := range b.workloads {
		p := pod{name: w.String(), labels: w.pod.Labels, w: w}
		for _, c := range w.pod.Spec.Containers {
			p.ports = append(p.ports, c.Ports...)
		}
		out = append(out, p)
	}
	for _, k := range b.kafkas {
		base := map[string]string{"strimzi.io/cluster": k.Name, "strimzi.io/kind": "Kafka"}
		with := func(kv ...string) map[string]string {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		for _, np := range b.nodePools {
			if np.Labels["strimzi.io/cluster"] != k.Name {
				continue
			}
			p := pod{name: "Kafka/" + k.Name + "/" + np.Name, labels: with("strimzi.io/name", k.Name+"-kafka", "strimzi.io/pool-name", np.Name)}
			for _, l := range k.Spec.Kafka.Listeners {
				p.ports = append(p.ports, corev1.ContainerPort{Name: l.Name, ContainerPort: l.Port})
			}
			out = append(out, p)
		}
		if k.Spec.EntityOperator != nil {
			out = append(out, pod{name: "Kafka/" + k.Name + "/entity-operator", labels: with("strimzi.io/name", k.Name+"-entity-operator")})
		}
		if k.Spec.KafkaExporter != nil {
			out = append(out, pod{name: "Kafka/" + k.Name + "/kafka-exporter", labels: with("strimzi.io/name", k.Name+"-kafka-exporter"),
				ports: []corev1.ContainerPort{{Name: "tcp-prometheus", ContainerPort: 9404}}})
		}
	}
	return out
}

// selecting returns the pods sel matches; a nil selector matches none.
func (b *bundle) selecting(sel *metav1.LabelSelector) ([]pod, error) {
	if sel == nil {
		return nil, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	var out []pod
	for _, p := range b.pods() {
		if s.Matches(labels.Set(p.labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// selectingSet is selecting for a Service's map selector.
func (b *bundle) selectingSet(sel map[string]string) []pod {
	if len(sel) == 0 {
		return nil
	}
	pods, _ := b.selecting(&metav1.LabelSelector{MatchLabels: sel})
	return pods
}

// port finds a port of the pod by name or number.
func (p pod) port(ref intstr.IntOrString) (corev1.ContainerPort, bool) {
	return findPort(p.ports, ref)
}

func findPort(ports []corev1.ContainerPort, ref intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range ports {
		if (ref.Type == intstr.String && cp.Name == ref.StrVal) || (ref.Type == intstr.Int && cp.ContainerPort == ref.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// env returns the value the container sets name to, directly or through a
// ConfigMap of the bundle it takes with envFrom ("" if neither).
func (b *bundle) env(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm := b.configMaps[ef.ConfigMapRef.Name]; cm != nil {
				if v, ok := cm.Data[ef.Prefix+name]; ok {
					return v
				}
			}
		}
	}
	return ""
}

// hostPort splits an address ("nats://nats:4222", "redis:6379") into its
// host and port.
func hostPort(addr string) (string, int32, error) {
	if _, rest, ok := strings.Cut(addr, "://"); ok {
		addr = rest
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%s: port %q", addr, p)
	}
	return host, int32(n), nil
}

// serviceHost returns the Service name a host names in namespace ns:
// "nats", "nats.ns", "nats.ns.svc" or "nats.ns.svc.cluster.local"; "" for
// a host in another namespace.
func serviceHost(host, ns string) string {
	parts := strings.Split(host, ".")
	switch {
	case len(parts) == 1:
		return parts[0]
	case parts[1] != ns:
		return ""
	case len(parts) == 2 || (len(parts) >= 3 && parts[2] == "svc"):
		return parts[0]
	}
	return ""
}
