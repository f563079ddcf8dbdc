package k8s

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/syncproto"
)

type kedaScaledObject = kedav1alpha1.ScaledObject

// deadLetterTopic is zoner-cloud's -dead-letter-topic default
// (cloud/cmd/zoner-cloud/run.go).
const deadLetterTopic = "dead_letters"

// Every autoscaler scales a rendered Deployment or StatefulSet, alone: an
// HPA and a ScaledObject on one Deployment (KEDA makes an HPA of its own)
// would fight, and so would a replicas field that every apply resets.
// ScaledObjects pass KEDA's own validation, and their triggers name what
// the services really use.
func checkAutoscalers(t *testing.T, b *bundle) {
	scalers := map[string][]string{}
	for _, h := range b.hpas {
		ref := h.Spec.ScaleTargetRef
		scalers[ref.Name] = append(scalers[ref.Name], "HorizontalPodAutoscaler/"+h.Name)
		w := b.workload(ref.Name)
		if w == nil || w.kind != ref.Kind || ref.APIVersion != "apps/v1" {
			t.Errorf("HorizontalPodAutoscaler/%s: scales %s %s/%s, which is not rendered", h.Name, ref.APIVersion, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			t.Errorf("HorizontalPodAutoscaler/%s: minReplicas must be set and at most maxReplicas", h.Name)
		}
	}
	for _, so := range b.scaledObjects {
		ref := so.Spec.ScaleTargetRef
		scalers[ref.Name] = append(scalers[ref.Name], "ScaledObject/"+so.Name)
		w := b.workload(ref.Name)
		if w == nil || (ref.Kind != "" && ref.Kind != w.kind) || (ref.Kind == "" && w.kind != "Deployment") {
			t.Errorf("ScaledObject/%s: scales %s/%s, which is not rendered", so.Name, ref.Kind, ref.Name)
			continue
		}
		for _, check := range []func(*kedav1alpha1.ScaledObject) error{
			kedav1alpha1.CheckReplicaCountBoundsAreValid, kedav1alpha1.CheckFallbackValid,
			func(so *kedav1alpha1.ScaledObject) error { return kedav1alpha1.ValidateTriggers(so.Spec.Triggers) },
		} {
			if err := check(so); err != nil {
				t.Errorf("ScaledObject/%s: KEDA would refuse it: %v", so.Name, err)
			}
		}
		if so.Spec.Fallback == nil || so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
			t.Errorf("ScaledObject/%s: needs a fallback and at least one replica (a consumer scaled to zero would not see its lag start)", so.Name)
		}
		checkTriggers(t, b, so, w)
	}
	for name, s := range scalers {
		if len(s) > 1 {
			t.Errorf("Deployment/%s is scaled by %v: one autoscaler a workload", name, s)
		}
		if w := b.workload(name); w != nil && w.replicas != nil {
			t.Errorf("%s: sets replicas, which %s owns; every apply would reset it", w, s[0])
		}
	}
}

// checkTriggers matches a ScaledObject's lag triggers against the
// consumer its Deployment runs; a CPU trigger needs CPU requests
// (checkContainers).
func checkTriggers(t *testing.T, b *bundle, so *kedav1alpha1.ScaledObject, w *workload) {
	c := &w.pod.Spec.Containers[0]
	orDefault := func(name, def string) string {
		if v := b.env(c, name); v != "" {
			return v
		}
		return def
	}
	lag := false
	for _, tr := range so.Spec.Triggers {
		md := tr.Metadata
		switch tr.Type {
		case "kafka":
			lag = true
			group := ""
			switch c.Args[0] {
			case "ingest":
				group = orDefault("ZONER_INGEST_GROUP", "zoner-ingest")
			case "recommender":
				group = orDefault("ZONER_RECOMMENDER_GROUP", "zoner-recommender")
			}
			if md["consumerGroup"] != group {
				t.Errorf("ScaledObject/%s: consumerGroup %q; %s consumes as %q", so.Name, md["consumerGroup"], w, group)
			}
			// Past the group's partitions, replicas sit idle.
			partitions := int32(0)
			for _, tp := range b.topics {
				if tp.topicName() != deadLetterTopic {
					partitions += tp.Spec.Partitions
				}
			}
			if so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount > partitions {
				t.Errorf("ScaledObject/%s: maxReplicaCount must be set, at most the group's %d partitions", so.Name, partitions)
			}
		case "nats-jetstream":
			lag = true
			if md["stream"] != syncproto.IngestStream || md["consumer"] != orDefault("ZONER_BRIDGE_CONSUMER", natssource.DefaultConsumer) || md["account"] != natsedge.CalloutAccount {
				t.Errorf("ScaledObject/%s: stream %q consumer %q account %q; the bridge reads %s with %q in %s", so.Name,
					md["stream"], md["consumer"], md["account"], syncproto.IngestStream, orDefault("ZONER_BRIDGE_CONSUMER", natssource.DefaultConsumer), natsedge.CalloutAccount)
			}
		case "cpu":
			if tr.MetricType != "Utilization" {
				t.Errorf("ScaledObject/%s: the cpu trigger scales on Utilization", so.Name)
			}
		default:
			t.Errorf("ScaledObject/%s: trigger %s is not one this deployment reasons about", so.Name, tr.Type)
		}
	}
	if !lag {
		t.Errorf("ScaledObject/%s: no lag trigger: KEDA is here to scale on lag", so.Name)
	}
}

// The KafkaTopics are the bridge's topics and ingest's dead letters,
// with the partitions and replication the services use when they make a
// missing topic, replicated no wider than the brokers and so that one
// broker may be lost without refusing writes; Kafka is the release the
// integration tests run.
func checkKafka(t *testing.T, b *bundle) {
	if len(b.kafkas) != 1 {
		t.Fatalf("%d Kafka resources; want 1", len(b.kafkas))
	}
	k := b.kafkas[0]
	brokers := int32(0)
	for _, np := range b.nodePools {
		if np.Labels["strimzi.io/cluster"] == k.Name && slices.Contains(np.Spec.Roles, "broker") {
			brokers += np.Spec.Replicas
		}
	}
	cfg := b.configMaps[zonerConfig(t, b)].Data
	wantTopics := append(bridge.DefaultTopics().All(), deadLetterTopic)
	var names []string
	for _, tp := range b.topics {
		names = append(names, tp.topicName())
		if tp.Labels["strimzi.io/cluster"] != k.Name {
			t.Errorf("KafkaTopic/%s: cluster %q; the Kafka is %s", tp.Name, tp.Labels["strimzi.io/cluster"], k.Name)
		}
		if strconv.Itoa(int(tp.Spec.Partitions)) != cfg["ZONER_TOPIC_PARTITIONS"] || strconv.Itoa(int(tp.Spec.Replicas)) != cfg["ZONER_TOPIC_REPLICATION"] {
			t.Errorf("KafkaTopic/%s: %d partitions, %d replicas; the services make missing topics with %s and %s (ZONER_TOPIC_*)",
				tp.Name, tp.Spec.Partitions, tp.Spec.Replicas, cfg["ZONER_TOPIC_PARTITIONS"], cfg["ZONER_TOPIC_REPLICATION"])
		}
		if tp.Spec.Replicas > brokers {
			t.Errorf("KafkaTopic/%s: %d replicas on %d brokers", tp.Name, tp.Spec.Replicas, brokers)
		}
		if isr := int32(tp.minISR()); isr > tp.Spec.Replicas || (tp.Spec.Replicas > 1 && isr >= tp.Spec.Replicas) || (tp.Spec.Replicas > 2 && isr < 2) {
			t.Errorf("KafkaTopic/%s: min.insync.replicas %d of %d: want at least 2 and fewer than the replicas (acks=all must survive a broker down)", tp.Name, isr, tp.Spec.Replicas)
		}
	}
	if !sameSet(names, wantTopics) {
		t.Errorf("KafkaTopics %v; want %v", names, wantTopics)
	}
	for _, key := range []string{"default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"} {
		if v, ok := k.Spec.Kafka.Config[key].(int64); !ok || int32(v) > brokers {
			t.Errorf("Kafka/%s: %s = %v with %d brokers", k.Name, key, k.Spec.Kafka.Config[key], brokers)
		}
	}
	if k.Spec.KafkaExporter == nil {
		t.Errorf("Kafka/%s: no kafkaExporter: the dashboards read kafka_consumergroup_lag", k.Name)
	}
	script, err := os.ReadFile("../local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`KAFKA_VERSION=\$\{KAFKA_VERSION:-([0-9.]+)\}`).FindSubmatch(script)
	if m == nil || k.Spec.Kafka.Version != string(m[1]) {
		t.Errorf("Kafka/%s: version %q; the integration tests run %q (deploy/local/kafka.sh)", k.Name, k.Spec.Kafka.Version, m)
	}
}

// zonerConfig returns the name of the ConfigMap the Zoner containers take
// their settings from.
func zonerConfig(t *testing.T, b *bundle) string {
	t.Helper()
	for _, w := range b.workloads {
		for _, c := range allContainers(&w.pod.Spec) {
			if zonerImage(c) != "" {
				for _, ef := range c.EnvFrom {
					if ef.ConfigMapRef != nil {
						return ef.ConfigMapRef.Name
					}
				}
			}
		}
	}
	t.Fatal("no Zoner container takes a ConfigMap")
	return ""
}
