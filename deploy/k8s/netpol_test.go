package k8s

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// flows are the connections between the namespace's pods that the
// services need (docs/cloud.md, docs/sync.md) — and, checkFlows says, all
// the network policies allow: "to" is the destination's
// app.kubernetes.io/name ("kafka" for Strimzi's brokers) and port name.
var flows = map[string][]string{
	"zoner-bridge":      {"nats:client", "kafka:plain"},
	"zoner-callout":     {"nats:client"},
	"zoner-ingest":      {"kafka:plain"},
	"zoner-recommender": {"kafka:plain", "nats:client", "redis:redis"},
	"zoner-api":         {"nats:client", "redis:redis"},
	"nats":              {"nats:cluster"},
	"redis":             nil,
}

// endpoint is one end of a connection: a pod of the namespace (ns ""), a
// pod of another namespace, or an address outside the cluster (ip).
type endpoint struct {
	name   string
	ns     string
	labels map[string]string
	ip     string
}

var (
	hub        = endpoint{name: "a hub on the internet", ip: "203.0.113.7"}
	snowflake  = endpoint{name: "Snowflake", ip: "52.1.2.3"}
	private    = endpoint{name: "a private address", ip: "10.1.2.3"}
	apiServer  = endpoint{name: "the API server", ip: "10.0.0.1"}
	dns        = endpoint{name: "DNS", ns: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}
	prometheus = endpoint{name: "Prometheus", ns: "monitoring", labels: map[string]string{"app.kubernetes.io/name": "prometheus"}}
	keda       = endpoint{name: "KEDA", ns: "keda", labels: map[string]string{"app": "keda-operator"}}
	ingressCtl = endpoint{name: "the ingress controller", ns: "ingress-nginx", labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}
)

// policies are the target's NetworkPolicies and those Strimzi writes for
// its listeners: from networkPolicyPeers, or from anywhere without them.
func (b *bundle) policies() []*networkingv1.NetworkPolicy {
	out := slices.Clone(b.netpols)
	for _, k := range b.kafkas {
		for _, l := range k.Spec.Kafka.Listeners {
			port := intstr.FromInt32(l.Port)
			out = append(out, &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: "strimzi " + k.Name + " " + l.Name},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"strimzi.io/cluster": k.Name, "strimzi.io/kind": "Kafka", "strimzi.io/name": k.Name + "-kafka"}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: l.NetworkPolicyPeers, Ports: []networkingv1.NetworkPolicyPort{{Port: &port}}}},
				},
			})
		}
	}
	return out
}

func matches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

func peerMatches(peers []networkingv1.NetworkPolicyPeer, e endpoint, ownNS string) bool {
	if len(peers) == 0 {
		return true
	}
	ns := e.ns
	if ns == "" {
		ns = ownNS
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if e.ip != "" && ipIn(e.ip, p.IPBlock.CIDR, p.IPBlock.Except) {
				return true
			}
		case e.labels == nil:
		case p.NamespaceSelector != nil:
			if matches(p.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": ns}) && (p.PodSelector == nil || matches(p.PodSelector, e.labels)) {
				return true
			}
		case p.PodSelector != nil:
			if e.ns == "" && matches(p.PodSelector, e.labels) {
				return true
			}
		}
	}
	return false
}

func portMatches(ports []networkingv1.NetworkPolicyPort, port corev1.ContainerPort) bool {
	if len(ports) == 0 {
		return true
	}
	proto := port.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		switch {
		case pp != proto:
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if p.Port.StrVal == port.Name {
				return true
			}
		case p.Port.IntVal == port.ContainerPort || (p.EndPort != nil && p.Port.IntVal <= port.ContainerPort && port.ContainerPort <= *p.EndPort):
			return true
		}
	}
	return false
}

func hasType(p *networkingv1.NetworkPolicy, typ networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 { // the API's defaults
		return typ == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, typ)
}

// allowed reports whether from may open a connection to port of to: the
// policies selecting from must allow it out (when from is a pod of the
// namespace), and those selecting to must let it in (when to is).
func (b *bundle) allowed(from, to endpoint, port corev1.ContainerPort) bool {
	ownNS := b.namespace()
	side := func(self, other endpoint, typ networkingv1.PolicyType) bool {
		if self.labels == nil || self.ns != "" {
			return true // not ours to say
		}
		isolated := false
		for _, p := range b.policies() {
			if !hasType(p, typ) || !matches(&p.Spec.PodSelector, self.labels) {
				continue
			}
			isolated = true
			if typ == networkingv1.PolicyTypeEgress {
				for _, r := range p.Spec.Egress {
					if peerMatches(r.To, other, ownNS) && portMatches(r.Ports, port) {
						return true
					}
				}
			} else {
				for _, r := range p.Spec.Ingress {
					if peerMatches(r.From, other, ownNS) && portMatches(r.Ports, port) {
						return true
					}
				}
			}
		}
		return !isolated
	}
	return side(from, to, networkingv1.PolicyTypeEgress) && side(to, from, networkingv1.PolicyTypeIngress)
}

func (b *bundle) namespace() string {
	for _, o := range b.objects {
		if o.namespace != "" {
			return o.namespace
		}
	}
	return ""
}

// appName is a pod's name in flows: its app.kubernetes.io/name, or for
// Strimzi's pods the part of strimzi.io/name after the cluster's name
// ("kafka" for the brokers, "kafka-exporter", "entity-operator").
func appName(p pod) string {
	if n := p.labels["app.kubernetes.io/name"]; n != "" {
		return n
	}
	return strings.TrimPrefix(p.labels["strimzi.io/name"], p.labels["strimzi.io/cluster"]+"-")
}

// The policies allow exactly the flows between the namespace's pods;
// from outside, hubs reach the leaf-node port, Prometheus every scraped
// port, KEDA the lag it reads, the ingress controller the API, and
// nothing else; out of the cluster, the warehouse's users reach Snowflake
// and no one a private address; every pod reaches DNS.
func checkFlows(t *testing.T, b *bundle) {
	pods := b.pods()
	ep := func(p pod) endpoint { return endpoint{name: p.name, labels: p.labels} }
	want := func(from endpoint, to pod, port corev1.ContainerPort, ok bool) {
		if got := b.allowed(from, ep(to), port); got != ok {
			verb := map[bool]string{true: "allow", false: "deny"}[ok]
			t.Errorf("%s → %s:%s (%d): the policies should %s it", from.name, to.name, port.Name, port.ContainerPort, verb)
		}
	}
	find := func(app string) (pod, bool) {
		i := slices.IndexFunc(pods, func(p pod) bool { return appName(p) == app })
		if i < 0 {
			return pod{}, false
		}
		return pods[i], true
	}
	for _, w := range b.workloads {
		from := endpoint{name: w.String(), labels: w.pod.Labels}
		need, ok := flows[w.pod.Labels["app.kubernetes.io/name"]]
		if !ok {
			t.Errorf("%s is not in flows: say what it connects to", w)
			continue
		}
		for _, to := range pods {
			for _, port := range to.ports {
				want(from, to, port, slices.Contains(need, appName(to)+":"+port.Name))
			}
		}
		for _, out := range []endpoint{dns, snowflake, private} {
			port := corev1.ContainerPort{Name: out.name, ContainerPort: 443}
			ok := out.name == snowflake.name && slices.Contains([]string{"zoner-ingest", "zoner-recommender", "zoner-api"}, w.name)
			if out.ns == "kube-system" {
				port, ok = corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, true
			}
			if got := b.allowed(from, out, port); got != ok {
				t.Errorf("%s → %s port %d: allowed %t, want %t", w, out.name, port.ContainerPort, got, ok)
			}
		}
	}
	// From outside the namespace: what should come in, and a sample of what
	// should not.
	scraped := map[string]bool{}
	for _, m := range b.podMonitors {
		sel, _ := b.selecting(&m.Spec.Selector)
		for _, p := range sel {
			for _, e := range m.Spec.PodMetricsEndpoints {
				if _, has := p.port(intstr.FromString(deref(e.Port))); e.Port != nil && has {
					scraped[appName(p)+":"+*e.Port] = true
				}
			}
		}
	}
	for _, c := range []struct {
		from endpoint
		to   string
		ok   bool
	}{
		{hub, "nats:leafnodes", true}, {hub, "nats:client", false}, {hub, "zoner-api:http", false},
		{prometheus, "nats:metrics", true}, {prometheus, "nats:monitor", true}, {prometheus, "kafka-exporter:tcp-prometheus", true},
		{prometheus, "zoner-api:http", true}, {prometheus, "redis:redis", false}, {prometheus, "nats:client", false},
		{keda, "nats:monitor", true}, {keda, "kafka:plain", true}, {keda, "nats:client", false},
		{ingressCtl, "zoner-api:http", true}, {ingressCtl, "nats:monitor", false},
	} {
		app, portName, _ := strings.Cut(c.to, ":")
		to, ok := find(app)
		if !ok {
			t.Errorf("no pod %s", app)
			continue
		}
		port, ok := to.port(intstr.FromString(portName))
		if !ok {
			t.Errorf("%s has no port %s", to.name, portName)
			continue
		}
		want(c.from, to, port, c.ok)
	}
	for target, ok := range scraped {
		if !ok {
			continue
		}
		app, portName, _ := strings.Cut(target, ":")
		to, _ := find(app)
		port, _ := to.port(intstr.FromString(portName))
		want(prometheus, to, port, true)
	}
	if eo, ok := find("entity-operator"); ok {
		if !b.allowed(ep(eo), apiServer, corev1.ContainerPort{Name: "https", ContainerPort: 443}) {
			t.Errorf("%s → the API server: the topic operator cannot watch KafkaTopics", eo.name)
		}
	}
}

// Every policy selects pods (or all of them), every peer that names pods
// of the namespace names some, and a named port in an ingress rule is a
// port of the pods the policy selects.
func checkNetworkPolicySelectors(t *testing.T, b *bundle) {
	peers := func(where string, ps []networkingv1.NetworkPolicyPeer) {
		for _, p := range ps {
			if p.PodSelector != nil && p.NamespaceSelector == nil {
				if pods, err := b.selecting(p.PodSelector); err != nil || len(pods) == 0 {
					t.Errorf("%s: peer %v selects no pod", where, p.PodSelector)
				}
			}
		}
	}
	for _, np := range b.netpols {
		where := "NetworkPolicy/" + np.Name
		selected, err := b.selecting(&np.Spec.PodSelector)
		empty := len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0
		if !empty && (err != nil || len(selected) == 0) {
			t.Errorf("%s: podSelector selects no pod (%v)", where, err)
		}
		for i, r := range np.Spec.Ingress {
			peers(fmt.Sprintf("%s ingress %d", where, i), r.From)
			for _, p := range r.Ports {
				if p.Port != nil && p.Port.Type == intstr.String && !slices.ContainsFunc(selected, func(s pod) bool { _, ok := s.port(*p.Port); return ok }) {
					t.Errorf("%s ingress %d: no selected pod has a port named %s", where, i, p.Port.StrVal)
				}
			}
		}
		for i, r := range np.Spec.Egress {
			peers(fmt.Sprintf("%s egress %d", where, i), r.To)
		}
	}
	for _, k := range b.kafkas {
		for _, l := range k.Spec.Kafka.Listeners {
			peers("Kafka/"+k.Name+" listener "+l.Name, l.NetworkPolicyPeers)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
