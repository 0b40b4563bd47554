// Package gen generates random snapshots for kubeproxyc's differential
// tests: Services, EndpointSlices and legacy Endpoints that an API server
// would accept, together with a node context (kubeproxyc's node flags).
// The same seed always gives the same case.
//
// The generator stays away from inputs on which kube-proxy itself is not
// deterministic. kube-proxy merges a service port's EndpointSlices while
// ranging over a map of slices, and when two slices carry the same
// "ip:port" it keeps the last non-terminating copy it meets (or, if all
// copies are terminating, the first one). So whenever two slices of one
// service port carry the same endpoint, their copies must agree on
// everything kube-proxy reads from them, unless exactly one slice has a
// non-terminating copy (which then always wins). Generate repairs any
// generated duplicate that breaks this rule, and Deterministic checks it
// (the shrinker uses it to reject candidates). Duplicates within one slice
// are resolved in list order and are always deterministic.
//
// Shrink reduces a failing case to a small one that still fails.
package gen
