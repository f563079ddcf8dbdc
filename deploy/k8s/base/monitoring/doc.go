// Package monitoring holds the Zoner cloud's monitoring as Kubernetes
// objects: PodMonitors for every service, a PrometheusRule with the
// alerts and recording rules, and the Grafana dashboard shipped as a
// ConfigMap. Its test checks that every metric the rules and the
// dashboard name is one the code really writes.
package monitoring
