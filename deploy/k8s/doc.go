// Package k8s holds the Zoner cloud's Kubernetes deployment: a kustomize
// base (base/) with dev and prod overlays (overlays/), described in
// README.md. The package has no code of its own; its tests render every
// overlay and the base with the kustomize API, decode every object
// strictly with the Kubernetes API types (an unknown field fails), and
// check that images, ports, probes, selectors, secrets, network policies
// and autoscalers agree. They need no cluster and no network.
package k8s
