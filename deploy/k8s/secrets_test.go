package k8s

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// requiredSecrets are the Secrets the manifests reference, with their
// keys. None is ever rendered or committed: README.md says how to make
// each one, and TestREADMEMakesTheRequiredSecrets keeps the two equal.
var requiredSecrets = map[string][]string{
	"zoner-nats-service":  {"password"},              // NATS password of zoner-service
	"zoner-nats-auth":     {"password"},              // NATS password of zoner-auth (the callout)
	"zoner-nats-callout":  {"issuer", "seed"},        // the callout's account key pair
	"zoner-nats-leaf-tls": {"tls.crt", "tls.key"},    // the hubs' leaf-node port
	"zoner-cloud-secret":  {"secret"},                // derives the families' secrets
	"zoner-redis":         {"password", "auth.conf"}, // clients' password; the server's requirepass
	// Snowflake key-pair authentication, one service user a service.
	"zoner-snowflake-ingest":      {"private-key.pem"},
	"zoner-snowflake-recommender": {"private-key.pem"},
	"zoner-snowflake-api":         {"private-key.pem"},
	"zoner-api":                   {"token-secret", "webhook-secret"},
	"zoner-api-tls":               {"tls.crt", "tls.key"}, // the Ingress (prod)
}

// secretRefs returns the Secrets the target references, with the keys it
// names (nil when it takes the whole Secret).
func (b *bundle) secretRefs() map[string][]string {
	refs := map[string][]string{}
	ref := func(name string, keys ...string) { refs[name] = append(refs[name], keys...) }
	for _, w := range b.workloads {
		for _, v := range w.pod.Spec.Volumes {
			if v.Secret != nil {
				ref(v.Secret.SecretName)
				for _, it := range v.Secret.Items {
					ref(v.Secret.SecretName, it.Key)
				}
			}
		}
		for _, s := range w.pod.Spec.ImagePullSecrets {
			ref(s.Name)
		}
		for _, c := range allContainers(&w.pod.Spec) {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					ref(ef.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				}
			}
		}
	}
	for _, in := range b.ingresses {
		for _, tls := range in.Spec.TLS {
			ref(tls.SecretName)
		}
	}
	return refs
}

// Every Secret referenced is a documented one, by its documented keys;
// every ConfigMap referenced is rendered, with the keys used; every
// *_FILE variable names a file a Secret mounts there.
func checkReferences(t *testing.T, b *bundle) {
	for name, keys := range b.secretRefs() {
		known, ok := requiredSecrets[name]
		if !ok {
			t.Errorf("Secret %s is referenced but not in requiredSecrets (and so not in README.md)", name)
		}
		for _, k := range keys {
			if ok && !slices.Contains(known, k) {
				t.Errorf("Secret %s: key %s is not one of its documented keys %v", name, k, known)
			}
		}
	}
	for _, w := range b.workloads {
		spec := &w.pod.Spec
		cmKey := func(name, key string) {
			cm := b.configMaps[name]
			if cm == nil {
				t.Errorf("%s: ConfigMap %s is not rendered", w, name)
			} else if _, ok := cm.Data[key]; key != "" && !ok {
				t.Errorf("%s: ConfigMap %s has no key %s", w, name, key)
			}
		}
		for _, v := range spec.Volumes {
			if v.ConfigMap != nil {
				cmKey(v.ConfigMap.Name, "")
				for _, it := range v.ConfigMap.Items {
					cmKey(v.ConfigMap.Name, it.Key)
				}
			}
		}
		for _, c := range allContainers(spec) {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					cmKey(ef.ConfigMapRef.Name, "")
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					cmKey(e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
				}
				if strings.HasSuffix(e.Name, "_FILE") {
					if kind, err := b.fileIn(spec, c, e.Value); err != nil {
						t.Errorf("%s %s: %s=%s: %v", w, c.Name, e.Name, e.Value, err)
					} else if kind != "secret" {
						t.Errorf("%s %s: %s=%s is on a %s volume; secrets come from Secrets", w, c.Name, e.Name, e.Value, kind)
					}
				}
			}
			// Configuration files named on the command line.
			for _, a := range c.Args {
				if strings.HasPrefix(a, "/") && strings.HasSuffix(a, ".conf") {
					if _, err := b.fileIn(spec, c, a); err != nil {
						t.Errorf("%s %s: argument %s: %v", w, c.Name, a, err)
					}
				}
			}
		}
	}
	// Files a Redis configuration includes (requirepass).
	if w := b.workload("redis"); w != nil {
		c := &w.pod.Spec.Containers[0]
		for _, cm := range b.configMaps {
			for _, line := range strings.Split(cm.Data["redis.conf"], "\n") {
				if f, ok := strings.CutPrefix(strings.TrimSpace(line), "include "); ok {
					if _, err := b.fileIn(&w.pod.Spec, c, strings.TrimSpace(f)); err != nil {
						t.Errorf("%s: redis.conf includes %s: %v", w, f, err)
					}
				}
			}
		}
	}
}

// fileIn finds the volume that holds file in container c, and returns
// its kind ("secret", "configMap", "emptyDir", ...), or an error when no
// mount holds it or the Secret or ConfigMap has no such key.
func (b *bundle) fileIn(spec *corev1.PodSpec, c *corev1.Container, file string) (string, error) {
	mount := mountOf(c, file)
	if mount == nil {
		return "", fmt.Errorf("no volume is mounted there")
	}
	rel := strings.TrimPrefix(file, strings.TrimSuffix(mount.MountPath, "/")+"/")
	i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })
	if i < 0 {
		return "", fmt.Errorf("volume %s is missing", mount.Name)
	}
	v := spec.Volumes[i]
	paths := func(items []corev1.KeyToPath, all []string) []string {
		if len(items) == 0 {
			return all
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Path)
		}
		return out
	}
	switch {
	case v.Secret != nil:
		if p := paths(v.Secret.Items, requiredSecrets[v.Secret.SecretName]); !slices.Contains(p, rel) {
			return "", fmt.Errorf("Secret %s mounted at %s holds %v, not %s", v.Secret.SecretName, mount.MountPath, p, rel)
		}
		return "secret", nil
	case v.ConfigMap != nil:
		var keys []string
		if cm := b.configMaps[v.ConfigMap.Name]; cm != nil {
			keys = slices.Collect(maps.Keys(cm.Data))
		}
		if p := paths(v.ConfigMap.Items, keys); !slices.Contains(p, rel) {
			return "", fmt.Errorf("ConfigMap %s mounted at %s holds %v, not %s", v.ConfigMap.Name, mount.MountPath, p, rel)
		}
		return "configMap", nil
	case v.EmptyDir != nil:
		return "emptyDir", nil
	}
	return "other", nil
}

// mountOf returns the mount of c that holds file (the deepest), or nil.
func mountOf(c *corev1.Container, file string) *corev1.VolumeMount {
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") && (mount == nil || len(m.MountPath) > len(mount.MountPath)) {
			mount = &c.VolumeMounts[i]
		}
	}
	return mount
}

// No Secret is ever rendered, not even an empty one: applying it would
// overwrite the real one made by hand.
func checkNoSecrets(t *testing.T, b *bundle) {
	for _, o := range b.objects {
		if o.gvk.Group == "" && o.gvk.Kind == "Secret" {
			t.Errorf("%s is rendered; Secrets are made by hand (README.md) and only referenced here", o)
		}
	}
}

var (
	createSecret = regexp.MustCompile(`\bkubectl\b.*\bcreate secret (generic|tls) ([a-z0-9.-]+)`)
	secretKey    = regexp.MustCompile(`--from-(?:literal|file)=([^=\s]+)=`)
)

// README.md makes exactly the required Secrets, each with exactly its
// keys.
func TestREADMEMakesTheRequiredSecrets(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// One command a line: join the lines a backslash continues.
	joined := strings.ReplaceAll(string(text), "\\\n", " ")
	made := map[string][]string{}
	for _, line := range strings.Split(joined, "\n") {
		m := createSecret.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := made[m[2]]; dup {
			t.Errorf("README.md makes Secret %s twice", m[2])
		}
		keys := []string{"tls.crt", "tls.key"}
		if m[1] == "generic" {
			keys = nil
			for _, k := range secretKey.FindAllStringSubmatch(line, -1) {
				keys = append(keys, k[1])
			}
		}
		made[m[2]] = keys
	}
	for name, keys := range requiredSecrets {
		got, ok := made[name]
		switch {
		case !ok:
			t.Errorf("README.md does not say how to make Secret %s", name)
		case !sameSet(got, keys):
			t.Errorf("README.md makes Secret %s with keys %v; the manifests use %v", name, got, keys)
		}
	}
	for name := range made {
		if _, ok := requiredSecrets[name]; !ok {
			t.Errorf("README.md makes Secret %s, which no manifest uses", name)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// zonerEnv returns the ZONER_* variables a binary reads, from its
// sources: the string literals in its cmd/ directory (flags' fallbacks).
func zonerEnv(t *testing.T, binary string) map[string]bool {
	t.Helper()
	dir := map[string]string{"zoner-cloud": "cloud/cmd/zoner-cloud", "zoner-bridge": "bridge/cmd/zoner-bridge"}[binary]
	files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sources of %s: %v", binary, err)
	}
	lit := regexp.MustCompile(`"(ZONER_[A-Z0-9_]+)"`)
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			out[m[1]] = true
		}
	}
	return out
}

// Every ZONER_* variable a container sets is one its binary reads (a
// misspelt one would silently leave the default), and every one in a
// shared ConfigMap is read by one of the binaries.
func checkZonerEnv(t *testing.T, b *bundle) {
	known := map[string]map[string]bool{}
	for name := range zonerCommands {
		known[name] = zonerEnv(t, name)
	}
	for _, w := range b.workloads {
		for _, c := range allContainers(&w.pod.Spec) {
			name := zonerImage(c)
			if name == "" {
				continue
			}
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "ZONER_") && !known[name][e.Name] {
					t.Errorf("%s %s: %s is no setting of %s", w, c.Name, e.Name, name)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil || b.configMaps[ef.ConfigMapRef.Name] == nil {
					continue
				}
				for k := range b.configMaps[ef.ConfigMapRef.Name].Data {
					if strings.HasPrefix(k, "ZONER_") && !known["zoner-cloud"][k] && !known["zoner-bridge"][k] {
						t.Errorf("ConfigMap %s: %s is no setting of zoner-cloud nor zoner-bridge", ef.ConfigMapRef.Name, k)
					}
				}
			}
		}
	}
}
