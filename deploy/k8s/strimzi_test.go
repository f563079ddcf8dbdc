package k8s

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
)

// Strimzi publishes no Go types, so these mirror its kafka.strimzi.io
// v1beta2 CRD schemas — for exactly the fields this deployment uses, with
// the schema's names and types. They are decoded strictly, like every
// other object: a field the mirror lacks fails the test. That is on
// purpose: a field added to the manifests must be looked up in Strimzi's
// API reference and added here, not slip through unchecked. Enumerations
// the CRDs enforce are checked by validate.

const strimziGroup = "kafka.strimzi.io"

// strimziKafka mirrors Kafka: spec.kafka, spec.entityOperator,
// spec.kafkaExporter.
type strimziKafka struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Kafka struct {
			Version         string            `json:"version,omitempty"`
			MetadataVersion string            `json:"metadataVersion,omitempty"`
			Listeners       []kafkaListener   `json:"listeners"`
			Config          map[string]any    `json:"config,omitempty"` // free-form in the CRD
			Template        *kafkaPodTemplate `json:"template,omitempty"`
		} `json:"kafka"`
		EntityOperator *struct {
			TopicOperator *struct{} `json:"topicOperator,omitempty"`
			UserOperator  *struct{} `json:"userOperator,omitempty"`
		} `json:"entityOperator,omitempty"`
		KafkaExporter *struct {
			GroupRegex string `json:"groupRegex,omitempty"`
			TopicRegex string `json:"topicRegex,omitempty"`
		} `json:"kafkaExporter,omitempty"`
	} `json:"spec"`
}

// kafkaListener mirrors GenericKafkaListener.
type kafkaListener struct {
	Name               string                           `json:"name"`
	Port               int32                            `json:"port"`
	Type               string                           `json:"type"`
	TLS                bool                             `json:"tls"`
	NetworkPolicyPeers []networkingv1.NetworkPolicyPeer `json:"networkPolicyPeers,omitempty"`
}

// kafkaPodTemplate mirrors the pod part of KafkaNodePoolTemplate.
type kafkaPodTemplate struct {
	Pod *struct {
		Affinity                  *corev1.Affinity                  `json:"affinity,omitempty"`
		TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	} `json:"pod,omitempty"`
}

// strimziNodePool mirrors KafkaNodePool.
type strimziNodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Replicas int32    `json:"replicas"`
		Roles    []string `json:"roles"`
		Storage  struct {
			Type    string `json:"type"`
			Volumes []struct {
				ID            int    `json:"id"`
				Type          string `json:"type"`
				Size          string `json:"size,omitempty"`
				DeleteClaim   bool   `json:"deleteClaim,omitempty"`
				KraftMetadata string `json:"kraftMetadata,omitempty"`
			} `json:"volumes,omitempty"`
		} `json:"storage"`
		Resources  *corev1.ResourceRequirements `json:"resources,omitempty"`
		JVMOptions *struct {
			Xms string `json:"-Xms,omitempty"`
			Xmx string `json:"-Xmx,omitempty"`
		} `json:"jvmOptions,omitempty"`
		Template *kafkaPodTemplate `json:"template,omitempty"`
	} `json:"spec"`
}

// strimziTopic mirrors KafkaTopic.
type strimziTopic struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TopicName  string         `json:"topicName,omitempty"`
		Partitions int32          `json:"partitions"`
		Replicas   int32          `json:"replicas"`
		Config     map[string]any `json:"config,omitempty"` // free-form in the CRD
	} `json:"spec"`
}

// decodeStrimzi decodes raw strictly (unknown, duplicated and wrongly
// cased fields are errors, as in the API server) and validates it.
func decodeStrimzi(gvk schema.GroupVersionKind, raw []byte) (any, error) {
	if gvk.Version != "v1beta2" {
		return nil, fmt.Errorf("%s is not a kind this deployment uses (Strimzi v1beta2 only)", gvk)
	}
	var obj interface{ validate() error }
	switch gvk.Kind {
	case "Kafka":
		obj = &strimziKafka{}
	case "KafkaNodePool":
		obj = &strimziNodePool{}
	case "KafkaTopic":
		obj = &strimziTopic{}
	default:
		return nil, fmt.Errorf("%s is not a kind this deployment uses (add a mirror type to strimzi_test.go)", gvk)
	}
	strict, err := sigsjson.UnmarshalStrict(raw, obj)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	return obj, obj.validate()
}

func (k *strimziKafka) validate() error {
	if len(k.Spec.Kafka.Listeners) == 0 {
		return errors.New("Kafka: no listener")
	}
	for _, l := range k.Spec.Kafka.Listeners {
		if !slices.Contains([]string{"internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"}, l.Type) {
			return fmt.Errorf("Kafka listener %s: type %q", l.Name, l.Type)
		}
		if l.Port < 9092 {
			return fmt.Errorf("Kafka listener %s: port %d; Strimzi takes 9092 and up", l.Name, l.Port)
		}
	}
	return nil
}

func (p *strimziNodePool) validate() error {
	if len(p.Spec.Roles) == 0 {
		return errors.New("KafkaNodePool: no role")
	}
	for _, r := range p.Spec.Roles {
		if r != "controller" && r != "broker" {
			return fmt.Errorf("KafkaNodePool: role %q: controller or broker", r)
		}
	}
	types := []string{"ephemeral", "persistent-claim", "jbod"}
	if !slices.Contains(types, p.Spec.Storage.Type) {
		return fmt.Errorf("KafkaNodePool: storage type %q", p.Spec.Storage.Type)
	}
	for _, v := range p.Spec.Storage.Volumes {
		if !slices.Contains(types[:2], v.Type) || (v.KraftMetadata != "" && v.KraftMetadata != "shared") {
			return fmt.Errorf("KafkaNodePool: volume %d: type %q, kraftMetadata %q", v.ID, v.Type, v.KraftMetadata)
		}
	}
	if p.Labels["strimzi.io/cluster"] == "" {
		return errors.New("KafkaNodePool: no strimzi.io/cluster label: no Kafka would use it")
	}
	return nil
}

func (t *strimziTopic) validate() error {
	if t.Spec.Partitions < 1 || t.Spec.Replicas < 1 {
		return fmt.Errorf("KafkaTopic %s: %d partitions, %d replicas", t.Name, t.Spec.Partitions, t.Spec.Replicas)
	}
	if t.Labels["strimzi.io/cluster"] == "" {
		return fmt.Errorf("KafkaTopic %s: no strimzi.io/cluster label: the topic operator would ignore it", t.Name)
	}
	return nil
}

// topicName is the Kafka topic's name: spec.topicName, or the object's.
func (t *strimziTopic) topicName() string {
	if t.Spec.TopicName != "" {
		return t.Spec.TopicName
	}
	return t.Name
}

// minISR is the topic's min.insync.replicas (1, Kafka's default, when
// unset).
func (t *strimziTopic) minISR() int {
	switch v := t.Spec.Config["min.insync.replicas"].(type) {
	case float64:
		return int(v)
	case int64:
		return int(v)
	}
	return 1
}
