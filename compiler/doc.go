// Package compiler turns Kubernetes Service, EndpointSlice, Endpoints and Node
// objects into the packet-filter programs that kube-proxy v1.36 would install
// on one node.
//
// The pipeline has one file per stage:
//
//   - load.go reads YAML or JSON (multi-document, kind: List) and keeps the
//     file and line of every object;
//   - defaults.go applies the API server's defaults that manifests may omit;
//   - mirror.go converts legacy v1 Endpoints into EndpointSlices the way the
//     endpointslice-mirroring controller does;
//   - validate.go checks every field that is consumed, as the API server would;
//   - model.go builds the backend-neutral model: one ServicePort per service
//     port of the chosen IP family, with its endpoints;
//   - categorize.go selects the endpoints a node uses (traffic policies,
//     topology hints, terminating fallback), exactly as kube-proxy does;
//   - names.go computes kube-proxy's chain names;
//   - iptables.go, nft.go and ipvs.go lower the model to the program of
//     each proxy mode (package ir).
//
// Which Service fields are honoured: spec.type, clusterIP/clusterIPs,
// ipFamilies, ports (name, protocol, port, nodePort; targetPort is resolved
// by the EndpointSlice, not by kube-proxy), externalIPs, sessionAffinity and
// its ClientIP timeout, externalTrafficPolicy, internalTrafficPolicy,
// healthCheckNodePort, loadBalancerSourceRanges and status.loadBalancer
// ingress IPs with their ipMode. Selectors, externalName targets,
// publishNotReadyAddresses and annotations do not change kube-proxy's rules
// and are ignored. Services labelled service.kubernetes.io/service-proxy-name,
// headless Services and ExternalName Services produce nothing, as do
// EndpointSlices labelled service.kubernetes.io/headless.
//
// The output order is canonical: service ports in ascending
// "namespace/name:port" order and endpoints in ascending "ip:port" order, so
// the same objects give the same bytes whatever order they were read in.
package compiler
