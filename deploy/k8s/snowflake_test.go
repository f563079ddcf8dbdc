package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// snowflakeIdentity is the Snowflake user, role and key Secret of each
// workload that uses the warehouse: one each, made by zoner-cloud migrate
// -admin (cloud/warehouse/snowflake/admin/0001_roles.sql).
var snowflakeIdentity = map[string]struct{ user, role, secret string }{
	"zoner-ingest":      {"ZONER_INGEST_SVC", "ZONER_INGEST", "zoner-snowflake-ingest"},
	"zoner-recommender": {"ZONER_RECOMMENDER_SVC", "ZONER_RECOMMENDER", "zoner-snowflake-recommender"},
	"zoner-api":         {"ZONER_API_SVC", "ZONER_API", "zoner-snowflake-api"},
}

// Every container that signs in to Snowflake does so as its workload's
// own user and role, with its own key; and every workload the table names
// does sign in.
func checkSnowflakeIdentities(t *testing.T, b *bundle) {
	signsIn := map[string]bool{}
	for _, w := range b.workloads {
		for _, c := range allContainers(&w.pod.Spec) {
			keyFile := b.env(c, "ZONER_SNOWFLAKE_PRIVATE_KEY_FILE")
			if keyFile == "" {
				continue
			}
			where := w.name + "/" + c.Name
			want, ok := snowflakeIdentity[w.name]
			if !ok {
				t.Errorf("%s signs in to Snowflake, and has no identity of its own in snowflakeIdentity", where)
				continue
			}
			signsIn[w.name] = true
			if u, r := b.env(c, "ZONER_SNOWFLAKE_USER"), b.env(c, "ZONER_SNOWFLAKE_ROLE"); u != want.user || r != want.role {
				t.Errorf("%s signs in as %q with role %q, want %s with %s", where, u, r, want.user, want.role)
			}
			if s := mountedSecret(&w.pod.Spec, c, keyFile); s != want.secret {
				t.Errorf("%s reads its key %s from Secret %q, want %s", where, keyFile, s, want.secret)
			}
		}
	}
	for name := range snowflakeIdentity {
		if b.workload(name) != nil && !signsIn[name] {
			t.Errorf("%s does not sign in to Snowflake", name)
		}
	}
}

// mountedSecret is the Secret whose volume the container mounts at the
// directory holding file ("" when none).
func mountedSecret(spec *corev1.PodSpec, c *corev1.Container, file string) string {
	for _, m := range c.VolumeMounts {
		if len(file) > len(m.MountPath) && file[:len(m.MountPath)+1] == m.MountPath+"/" {
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.Secret != nil {
					return v.Secret.SecretName
				}
			}
		}
	}
	return ""
}
