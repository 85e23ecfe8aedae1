/** The file `k3box config init` writes: every common field, commented, valid as it is. */
import { DEFAULT_CLUSTER_NAME, DEFAULT_K3S_IMAGE } from "../cluster-spec/defaults.js";
import { K3BOX_API_VERSION, K3BOX_KIND } from "./kinds.js";

export function starterConfig(name = DEFAULT_CLUSTER_NAME): string {
  return `# Editor completion: k3box config schema > k3box-config.schema.json
# yaml-language-server: $schema=k3box-config.schema.json
# A k3box cluster. Create it with:  k3box cluster create --config THIS_FILE
# Flags and K3BOX_* variables override what is written here; $VAR and \${VAR:-default}
# are taken from the environment. Node filters: server:0, agent:*, agent:1-, loadbalancer, all.
apiVersion: ${K3BOX_API_VERSION}
kind: ${K3BOX_KIND}
metadata:
  name: ${name}
servers: 1
agents: 0
image: ${DEFAULT_K3S_IMAGE}
# datastore:                 # default: sqlite for one server, etcd embedded in the servers for more
#   type: postgres           # a database k3box runs beside the nodes (or mysql, mariadb)
#   endpoint: \${DATASTORE_URL}   # with type: external, a database k3box does not manage
# kubeAPI:
#   hostIP: 127.0.0.1        # where the API port binds on the host
#   hostPort: 6550           # default: a free port
# ports:
#   - port: 8080:80          # host 127.0.0.1:8080 to port 80 of every node, via the load balancer
#     nodeFilters: [loadbalancer]
# volumes:
#   - volume: ./data:/data   # relative paths are taken from this file's directory
#     nodeFilters: [server:0]
# env:
#   - envVar: HTTP_PROXY=\${HTTP_PROXY:-}
# files:
#   - source: ./ca.pem
#     destination: /etc/ssl/certs/dev-ca.pem
#   - content: |
#       apiVersion: v1
#       kind: Namespace
#       metadata: {name: dev}
#     destination: k3s-manifests/dev-namespace.yaml
# manifests:                 # files or directories every server auto-deploys (HelmChart resources too)
#   - ./deploy
# hostAliases:
#   - ip: 10.0.0.5
#     hostnames: [git.internal]
options:
  k3s:
    extraArgs: []            # e.g. {arg: --disable=traefik, nodeFilters: [server:*]}
    nodeLabels: []           # e.g. {label: tier=edge, nodeFilters: [agent:*]}
  kubeconfig:
    updateDefaultKubeconfig: true
    switchCurrentContext: true
  k3box:
    wait: true
    timeout: 5m
`;
}
