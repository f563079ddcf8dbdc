package k8s

import (
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checks run on every target TestManifests renders.
var checks = []struct {
	name  string
	check func(*testing.T, *bundle)
}{
	{"images", checkImages},
	{"workload selectors", checkWorkloadSelectors},
	{"services", checkServices},
	{"pods", checkPods},
	{"containers", checkContainers},
	{"zoner settings", checkZonerEnv},
	{"addresses", checkAddresses},
	{"config and secret references", checkReferences},
	{"no secrets rendered", checkNoSecrets},
	{"service accounts", checkServiceAccounts},
	{"disruption budgets", checkPDBs},
	{"autoscalers", checkAutoscalers},
	{"network policy selectors", checkNetworkPolicySelectors},
	{"network flows", checkFlows},
	{"ingress", checkIngress},
	{"monitors", checkMonitors},
	{"kafka", checkKafka},
	{"nats", checkNATS},
	{"production", checkProduction},
	{"snowflake identities", checkSnowflakeIdentities},
}

// Zoner's two images and the commands each container may run: the first
// argument (ko sets the binary as the entrypoint). zoner-cloud's
// commands are in cloud/cmd/zoner-cloud/run.go, zoner-bridge's in
// bridge/cmd/zoner-bridge.
var zonerCommands = map[string][]string{
	"zoner-cloud":  {"ingest", "recommender", "api", "migrate"},
	"zoner-bridge": {"serve", "callout"},
}

// thirdPartyImages are the other images the deployment runs, each pinned
// to a version (an overlay may pin a digest instead).
var thirdPartyImages = []string{"nats", "natsio/prometheus-nats-exporter", "redis"}

var (
	versionTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$`)
	digest     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// parseImage splits an image reference into repository, tag and digest.
func parseImage(ref string) (repo, tag, dig string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, dig = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, dig
}

// allContainers lists a pod's init containers and containers.
func allContainers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	return out
}

// zonerImage returns "zoner-cloud" or "zoner-bridge" for a container
// running one of Zoner's images, "" otherwise.
func zonerImage(c *corev1.Container) string {
	repo, _, _ := parseImage(c.Image)
	if _, ok := zonerCommands[path.Base(repo)]; ok {
		return path.Base(repo)
	}
	return ""
}

// Zoner's images are named bare in the base and given a repository and a
// tag or digest by each overlay (a version in prod); third-party images
// are pinned. Never latest, never untagged.
func checkImages(t *testing.T, b *bundle) {
	for _, w := range b.workloads {
		for _, c := range allContainers(&w.pod.Spec) {
			repo, tag, dig := parseImage(c.Image)
			where := w.String() + " " + c.Name + ": " + c.Image
			name := zonerImage(c)
			if name != "" && !b.target.overlay() {
				if c.Image != name {
					t.Errorf("%s: the base names Zoner's images bare (%s); overlays set the repository and tag", where, name)
				}
			} else if tag == "latest" || (tag == "" && dig == "") {
				t.Errorf("%s: pin a tag or a digest, never latest", where)
			}
			if dig != "" && !digest.MatchString(dig) {
				t.Errorf("%s: malformed digest", where)
			}
			switch {
			case name == "":
				if !slices.Contains(thirdPartyImages, repo) {
					t.Errorf("%s: not a Zoner image nor one of %v", where, thirdPartyImages)
				} else if dig == "" && !strings.ContainsAny(tag, "0123456789") {
					t.Errorf("%s: a third-party image takes a version tag or a digest", where)
				}
				continue
			case !b.target.overlay():
			case !strings.Contains(repo, "/"):
				t.Errorf("%s: the overlay must set the image's repository (images: newName)", where)
			case b.target.name == "prod" && dig == "" && !versionTag.MatchString(tag):
				t.Errorf("%s: production runs a release's version tag or a digest", where)
			}
			if len(c.Args) == 0 || !slices.Contains(zonerCommands[name], c.Args[0]) {
				t.Errorf("%s: args %v: the first must be one of %s's commands %v", where, c.Args, name, zonerCommands[name])
			}
		}
	}
}

// A workload's selector matches its own pods, and only them.
func checkWorkloadSelectors(t *testing.T, b *bundle) {
	for _, w := range b.workloads {
		if w.selector == nil || len(w.selector.MatchLabels)+len(w.selector.MatchExpressions) == 0 {
			t.Errorf("%s: empty selector", w)
			continue
		}
		pods, err := b.selecting(w.selector)
		if err != nil {
			t.Errorf("%s: %v", w, err)
			continue
		}
		if len(pods) != 1 || pods[0].name != w.String() {
			t.Errorf("%s: the selector matches %v; want its own template only", w, podNames(pods))
		}
	}
}

func podNames(pods []pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.name)
	}
	return out
}

// A Service selects the pods of exactly one workload, and every port it
// targets is one those pods declare.
func checkServices(t *testing.T, b *bundle) {
	for _, s := range b.services {
		pods := b.selectingSet(s.Spec.Selector)
		if len(pods) != 1 {
			t.Errorf("Service/%s: selector %v matches %v; want one workload", s.Name, s.Spec.Selector, podNames(pods))
			continue
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target == (intstr.IntOrString{}) {
				target = intstr.FromInt32(p.Port)
			}
			if _, ok := pods[0].port(target); !ok {
				t.Errorf("Service/%s port %s: target %s is not a port of %s", s.Name, p.Name, target.String(), pods[0].name)
			}
		}
	}
}

// Pods run as non-root under the runtime's seccomp profile, with their
// own ServiceAccount and no API token.
func checkPods(t *testing.T, b *bundle) {
	for _, w := range b.workloads {
		spec := &w.pod.Spec
		sc := spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil ||
			sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: the pod needs runAsNonRoot and the RuntimeDefault seccomp profile", w)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken must be false: no pod here talks to the Kubernetes API", w)
		}
		if spec.ServiceAccountName == "" || b.serviceAccounts[spec.ServiceAccountName] == nil {
			t.Errorf("%s: ServiceAccount %q is not rendered; each workload has its own", w, spec.ServiceAccountName)
		}
		volumes := map[string]*corev1.Volume{}
		for _, pvc := range w.claims {
			volumes[pvc.Name] = &corev1.Volume{Name: pvc.Name}
		}
		for i, v := range spec.Volumes {
			volumes[v.Name] = &spec.Volumes[i]
			if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400) {
				t.Errorf("%s: secret volume %s: defaultMode 0400 (fsGroup makes it readable by the pod's group)", w, v.Name)
			}
		}
		for _, c := range allContainers(spec) {
			for _, m := range c.VolumeMounts {
				v := volumes[m.Name]
				if v == nil {
					t.Errorf("%s %s: mounts volume %s, which the pod lacks", w, c.Name, m.Name)
				} else if (v.Secret != nil || v.ConfigMap != nil) && !m.ReadOnly {
					t.Errorf("%s %s: mount %s of a secret or config map must be readOnly", w, c.Name, m.Name)
				}
			}
		}
	}
}

// Every container has CPU and memory requests and limits and a locked
// down security context; every long-running one has liveness and
// readiness probes on ports it declares (init containers cannot have
// probes). A Zoner container listens where its probes look: ZONER_HTTP
// and ZONER_API_ADDR (127.0.0.1 by default) on the port of their name.
func checkContainers(t *testing.T, b *bundle) {
	for _, w := range b.workloads {
		isInit := map[*corev1.Container]bool{}
		for i := range w.pod.Spec.InitContainers {
			isInit[&w.pod.Spec.InitContainers[i]] = true
		}
		for _, c := range allContainers(&w.pod.Spec) {
			where := w.String() + " " + c.Name
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					t.Errorf("%s: no %s request", where, res)
				}
				if _, ok := c.Resources.Limits[res]; !ok {
					t.Errorf("%s: no %s limit", where, res)
				}
			}
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
				!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || (sc.Privileged != nil && *sc.Privileged) {
				t.Errorf("%s: securityContext must forbid privilege escalation, drop ALL capabilities and make the root filesystem read-only", where)
			}
			if !isInit[c] && (c.LivenessProbe == nil || c.ReadinessProbe == nil) {
				t.Errorf("%s: needs a liveness and a readiness probe", where)
			}
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if ref, ok := probePort(p); ok {
					if _, found := findPort(c.Ports, ref); !found {
						t.Errorf("%s: a probe uses port %s, which the container does not declare", where, ref.String())
					}
				}
			}
			checkListenEnv(t, b, where, c, isInit[c])
		}
	}
}

// probePort returns the port an HTTP, TCP or gRPC probe uses.
func probePort(p *corev1.Probe) (intstr.IntOrString, bool) {
	switch {
	case p == nil:
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, true
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, true
	case p.GRPC != nil:
		return intstr.FromInt32(p.GRPC.Port), true
	}
	return intstr.IntOrString{}, false
}

// listenEnv maps the variables that say where a Zoner program listens to
// the name of the container port they must match.
var listenEnv = map[string]string{"ZONER_HTTP": "metrics", "ZONER_API_ADDR": "http"}

func checkListenEnv(t *testing.T, b *bundle, where string, c *corev1.Container, isInit bool) {
	listens := false
	for name, portName := range listenEnv {
		v := b.env(c, name)
		if v == "" {
			continue
		}
		listens = true
		host, port, err := hostPort(v)
		if err != nil {
			t.Errorf("%s: %s=%q: %v", where, name, v, err)
			continue
		}
		if host != "" && host != "0.0.0.0" && host != "::" {
			t.Errorf("%s: %s=%q listens on %s only; the kubelet and Prometheus reach the pod's address", where, name, v, host)
		}
		cp, ok := findPort(c.Ports, intstr.FromString(portName))
		if !ok || cp.ContainerPort != port {
			t.Errorf("%s: %s=%q; want the port of containerPort %q (%d)", where, name, v, portName, cp.ContainerPort)
		}
	}
	if zonerImage(c) != "" && !isInit && !listens {
		t.Errorf("%s: set ZONER_HTTP or ZONER_API_ADDR: by default the program listens on 127.0.0.1, out of the probes' reach", where)
	}
}

// addressEnv are the variables that name another service of the cluster.
var addressEnv = []string{"ZONER_NATS_URL", "ZONER_REDIS_ADDR", "ZONER_KAFKA_BROKERS"}

// Every address a Zoner container or a KEDA trigger is given names a
// Service of the target with that port, or a Strimzi bootstrap Service
// with a listener's.
func checkAddresses(t *testing.T, b *bundle) {
	var ns string
	for _, o := range b.objects {
		if o.namespace != "" {
			ns = o.namespace
		}
	}
	resolve := func(where, addr string) {
		host, port, err := hostPort(addr)
		if err != nil {
			t.Errorf("%s: %q: %v", where, addr, err)
			return
		}
		name := serviceHost(host, ns)
		for _, s := range b.services {
			if s.Name == name && slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port }) {
				return
			}
		}
		for _, k := range b.kafkas {
			if name == k.Name+"-kafka-bootstrap" && slices.ContainsFunc(k.Spec.Kafka.Listeners, func(l kafkaListener) bool { return l.Port == port }) {
				return
			}
		}
		t.Errorf("%s: %q is no Service of namespace %q with port %d", where, addr, ns, port)
	}
	for _, w := range b.workloads {
		for _, c := range allContainers(&w.pod.Spec) {
			if zonerImage(c) == "" {
				continue
			}
			for _, name := range addressEnv {
				for _, addr := range strings.Split(b.env(c, name), ",") {
					if addr != "" {
						resolve(w.String()+" "+c.Name+" "+name, addr)
					}
				}
			}
		}
	}
	for _, so := range b.scaledObjects {
		for _, tr := range so.Spec.Triggers {
			for _, key := range []string{"bootstrapServers", "natsServerMonitoringEndpoint"} {
				if addr, ok := tr.Metadata[key]; ok {
					resolve("ScaledObject/"+so.Name+" "+key, addr)
				}
			}
		}
	}
}

// A ServiceAccount per workload, with no token; no pod needs the API, so
// least privilege is no Role and no binding at all.
func checkServiceAccounts(t *testing.T, b *bundle) {
	used := map[string]bool{}
	for _, w := range b.workloads {
		used[w.pod.Spec.ServiceAccountName] = true
	}
	for name, sa := range b.serviceAccounts {
		if !used[name] {
			t.Errorf("ServiceAccount/%s: no workload uses it", name)
		}
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount/%s: automountServiceAccountToken must be false", name)
		}
	}
	if len(used) != len(b.workloads) {
		t.Errorf("%d workloads share %d ServiceAccounts; give each its own", len(b.workloads), len(used))
	}
	for _, o := range b.objects {
		if o.gvk.Group == "rbac.authorization.k8s.io" {
			t.Errorf("%s: no pod talks to the Kubernetes API; a Role or binding grants what nothing needs", o)
		}
	}
}

// A PDB selects one workload's pods, allows a disruption, and every
// workload that runs more than one pod has one.
func checkPDBs(t *testing.T, b *bundle) {
	covered := map[string]bool{}
	for _, p := range b.pdbs {
		pods, err := b.selecting(p.Spec.Selector)
		if err != nil || len(pods) != 1 {
			t.Errorf("PodDisruptionBudget/%s: selects %v (%v); want one workload", p.Name, podNames(pods), err)
			continue
		}
		covered[pods[0].name] = true
		if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
			t.Errorf("PodDisruptionBudget/%s: set maxUnavailable or minAvailable", p.Name)
		}
		if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() >= int(b.minReplicas(pods[0].w)) {
			t.Errorf("PodDisruptionBudget/%s: minAvailable %s blocks every drain", p.Name, p.Spec.MinAvailable.String())
		}
	}
	for _, w := range b.workloads {
		if b.minReplicas(w) > 1 && !covered[w.String()] {
			t.Errorf("%s: runs %d pods and has no PodDisruptionBudget", w, b.minReplicas(w))
		}
	}
}

// minReplicas is the fewest pods the workload runs: its replicas, or its
// autoscaler's minimum.
func (b *bundle) minReplicas(w *workload) int32 {
	if w == nil {
		return 0
	}
	for _, h := range b.hpas {
		if h.Spec.ScaleTargetRef.Name == w.name && h.Spec.MinReplicas != nil {
			return *h.Spec.MinReplicas
		}
	}
	for _, so := range b.scaledObjects {
		if so.Spec.ScaleTargetRef.Name == w.name && so.Spec.MinReplicaCount != nil {
			return *so.Spec.MinReplicaCount
		}
	}
	if w.replicas == nil {
		return 1
	}
	return *w.replicas
}

// The API's Ingress serves /v1/ only, through a Service port that exists,
// with its TLS certificate from a documented Secret.
func checkIngress(t *testing.T, b *bundle) {
	for _, in := range b.ingresses {
		for _, tls := range in.Spec.TLS {
			if _, ok := requiredSecrets[tls.SecretName]; !ok {
				t.Errorf("Ingress/%s: TLS secret %s is not in requiredSecrets", in.Name, tls.SecretName)
			}
		}
		if len(in.Spec.TLS) == 0 {
			t.Errorf("Ingress/%s: no TLS", in.Name)
		}
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				if strings.HasPrefix("/metrics", p.Path) || strings.HasPrefix("/healthz", p.Path) {
					t.Errorf("Ingress/%s: path %s exposes the operators' endpoints", in.Name, p.Path)
				}
				svc := p.Backend.Service
				if svc == nil {
					t.Errorf("Ingress/%s: path %s has no Service backend", in.Name, p.Path)
					continue
				}
				i := slices.IndexFunc(b.services, func(s *corev1.Service) bool { return s.Name == svc.Name })
				if i < 0 || !slices.ContainsFunc(b.services[i].Spec.Ports, func(sp corev1.ServicePort) bool {
					return (svc.Port.Name != "" && sp.Name == svc.Port.Name) || (svc.Port.Number != 0 && sp.Port == svc.Port.Number)
				}) {
					t.Errorf("Ingress/%s: backend %s port %v is no Service port", in.Name, svc.Name, svc.Port)
				}
			}
		}
	}
}

// Every PodMonitor and ServiceMonitor selects something, on a port that
// something has.
func checkMonitors(t *testing.T, b *bundle) {
	for _, m := range b.podMonitors {
		pods, err := b.selecting(&m.Spec.Selector)
		if err != nil || len(pods) == 0 {
			t.Errorf("PodMonitor/%s: selects no pod (%v)", m.Name, err)
		}
		for _, e := range m.Spec.PodMetricsEndpoints {
			if e.Port != nil && !slices.ContainsFunc(pods, func(p pod) bool { _, ok := p.port(intstr.FromString(*e.Port)); return ok }) {
				t.Errorf("PodMonitor/%s: no selected pod has a port %q", m.Name, *e.Port)
			}
		}
	}
	for _, m := range b.serviceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
		if err != nil {
			t.Errorf("ServiceMonitor/%s: %v", m.Name, err)
			continue
		}
		var ports []string
		for _, s := range b.services {
			if sel.Matches(labels.Set(s.Labels)) {
				for _, p := range s.Spec.Ports {
					ports = append(ports, p.Name)
				}
			}
		}
		for _, e := range m.Spec.Endpoints {
			if !slices.Contains(ports, e.Port) {
				t.Errorf("ServiceMonitor/%s: no selected Service has a port %q", m.Name, e.Port)
			}
		}
	}
}

// Production: pinned images (checkImages), at least two of every
// stateless service, spread over nodes and zones, KEDA on the consumers.
func checkProduction(t *testing.T, b *bundle) {
	if b.target.name != "prod" {
		t.Skip("production only")
	}
	for _, w := range b.workloads {
		if w.kind == "Deployment" && b.minReplicas(w) < 2 {
			t.Errorf("%s: runs %d pod(s) at least; production runs two or more", w, b.minReplicas(w))
		}
		spread := len(w.pod.Spec.TopologySpreadConstraints) > 0 ||
			(w.pod.Spec.Affinity != nil && w.pod.Spec.Affinity.PodAntiAffinity != nil)
		if b.minReplicas(w) > 1 && !spread {
			t.Errorf("%s: no topologySpreadConstraints nor pod anti-affinity", w)
		}
	}
	for _, name := range []string{"zoner-ingest", "zoner-bridge"} {
		if !slices.ContainsFunc(b.scaledObjects, func(so *kedaScaledObject) bool { return so.Spec.ScaleTargetRef.Name == name }) {
			t.Errorf("%s: production scales it with a KEDA ScaledObject", name)
		}
	}
	if len(b.ingresses) == 0 {
		t.Error("production exposes the API through an Ingress")
	}
}

// ipIn reports whether ip is in cidr and none of except.
func ipIn(ip, cidr string, except []string) bool {
	in := func(c string) bool {
		_, n, err := net.ParseCIDR(c)
		return err == nil && n.Contains(net.ParseIP(ip))
	}
	return in(cidr) && !slices.ContainsFunc(except, in)
}
