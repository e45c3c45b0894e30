// Package charttest checks the Helm chart in ../sportsconnect: helm lint and
// helm template (helm built from the Go module proxy), every rendered
// manifest decoded strictly into the Kubernetes API types, and the worker
// properties and connector configs it renders accepted by the worker's own
// config parser. It is a module of its own so the Kubernetes API types never
// enter the product's module graph; `make test` runs it.
package charttest
