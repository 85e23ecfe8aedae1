/**
 * The config file formats k3box reads. The k3box schema is the source of truth for
 * `schema/k3box-config.schema.json`; k3d's Simple schemas are accepted as k3d defines them.
 */
import { z } from "zod";

import { IMAGE_IMPORT_MODES } from "../images/import-mode.js";
import { K3BOX_API_VERSION, K3BOX_KIND, K3D_API_VERSIONS } from "./kinds.js";

export { K3BOX_API_VERSION, K3BOX_KIND, K3D_API_VERSIONS };
export const K3D_KIND = "Simple";

const nodeFilters = z
  .array(z.string())
  .meta({ description: "Nodes this applies to: server:0, server:*, agent:1,2, agent:1-, loadbalancer, all" });

/** YAML writes ports as numbers or strings; k3d's schema says string. */
const portValue = z.union([z.int().min(1).max(65535), z.string()], { error: "expected a port number" });

const kubeAPI = z
  .strictObject({
    host: z.string().optional().meta({ description: "Name written into the kubeconfig and the server certificate" }),
    hostIP: z.string().optional().meta({ description: "Host address the API port binds to (default 127.0.0.1)" }),
    hostPort: portValue.optional().meta({ description: "Host port of the API (default: a free port)" }),
  })
  .meta({ description: "Where the Kubernetes API is published on the host" });

/** k3box's kubeAPI: k3d's, and the kubeconfig's own address when it is not where the API is published. */
const k3boxKubeAPI = kubeAPI.extend({
  server: z
    .string()
    .optional()
    .meta({ description: "https://HOST[:PORT] written into the kubeconfig instead of the published address (a NAT, a tunnel)" }),
});

const volume = z.strictObject({
  volume: z
    .string()
    .meta({ description: "[SOURCE:]DEST[:OPTIONS]; a relative SOURCE is taken from the config file's directory" }),
  nodeFilters: nodeFilters.optional(),
});
const port = z.strictObject({
  port: z.string().meta({ description: "[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO]" }),
  nodeFilters: nodeFilters.optional(),
});
const envVar = z.strictObject({
  envVar: z.string().meta({ description: "KEY=VALUE" }),
  nodeFilters: nodeFilters.optional(),
});
const hostAlias = z.strictObject({
  ip: z.string(),
  hostnames: z.array(z.string()).min(1),
});
const k3sArg = z.strictObject({
  arg: z.string().meta({ description: "A k3s flag, e.g. --disable=traefik" }),
  nodeFilters: nodeFilters.optional(),
});
const nodeLabel = z.strictObject({
  label: z.string().meta({ description: "KEY=VALUE, a Kubernetes node label" }),
  nodeFilters: nodeFilters.optional(),
});
const kubeconfigOptions = z.strictObject({
  updateDefaultKubeconfig: z.boolean().optional(),
  switchCurrentContext: z.boolean().optional(),
});
const registryCreate = {
  name: z.string(),
  host: z.string().optional(),
  hostPort: portValue.optional(),
};
const registries = {
  use: z.array(z.string()).optional().meta({ description: "Existing registries the nodes use: NAME[:PORT]" }),
  config: z
    .string()
    .optional()
    .meta({ description: "k3s registries.yaml: inline content, or a path relative to the config file" }),
};
const duration = z.string().meta({ description: "A duration such as 90s, 2m or 1h30m" });

export const k3boxConfigSchema = z
  .strictObject({
    apiVersion: z.literal(K3BOX_API_VERSION),
    kind: z.literal(K3BOX_KIND),
    metadata: z.strictObject({ name: z.string().optional().meta({ description: "Cluster name" }) }).optional(),
    servers: z.int().min(1).optional(),
    agents: z.int().min(0).optional(),
    nodes: z
      .array(
        z.strictObject({
          engine: z.string().meta({ description: "The Docker engine of these agents: tcp://, ssh://[USER@]HOST or a context" }),
          agents: z.int().min(1).optional().meta({ description: "How many agents there (default 1)" }),
          k3sArgs: z.array(z.string()).optional().meta({ description: "k3s arguments of these agents only" }),
        }),
      )
      .optional()
      .meta({
        description:
          "Agents on other Docker engines (other hosts); they join through the API as published, so kubeAPI.hostIP must be an address their hosts reach",
      }),
    image: z.string().optional().meta({ description: "k3s image of the nodes" }),
    datastore: z
      .strictObject({
        type: z.enum(["sqlite", "etcd", "postgres", "mysql", "mariadb", "external"]).optional().meta({
          description:
            "sqlite (one server), etcd (embedded in the servers), postgres|mysql|mariadb (a database k3box runs), external (endpoint); default sqlite for one server, etcd for more",
        }),
        image: z
          .string()
          .optional()
          .meta({ description: "Image of the database k3box runs (default postgres:17, mysql:8.4, mariadb:11)" }),
        endpoint: z.string().optional().meta({
          description:
            "External datastore: postgres://, mysql:// or http(s):// of etcd; use ${VAR} to keep the password out of the file",
        }),
        port: portValue.optional().meta({ description: "[HOST:]PORT: publish the database k3box runs on the host (127.0.0.1)" }),
        volume: z.string().optional().meta({
          description: "Named volume or host path (relative to the config file) for the database's data; kept on delete",
        }),
      })
      .optional()
      .meta({ description: "Where the servers keep the cluster's state" }),
    kubeAPI: k3boxKubeAPI.optional(),
    engine: z
      .string()
      .optional()
      .meta({ description: "The Docker engine: unix://, tcp://, ssh://[USER@]HOST, or a Docker context's name (--engine wins)" }),
    network: z.string().optional().meta({ description: "Docker network to use; an existing one is kept at delete" }),
    subnet: z.string().optional().meta({ description: "IPv4 CIDR of the cluster's network, or auto" }),
    token: z.string().optional().meta({ description: "Join token (default: 160 random bits)" }),
    volumes: z.array(volume).optional(),
    ports: z.array(port).optional(),
    env: z.array(envVar).optional(),
    files: z
      .array(
        z.strictObject({
          source: z.string().optional().meta({ description: "Host path, relative to the config file" }),
          content: z.string().optional().meta({ description: "The file's content, instead of a source" }),
          destination: z.string().meta({
            description: "Path in the node; may start with k3s-manifests/, k3s-manifests-custom/, k3s-images/, k3s-storage/",
          }),
          description: z.string().optional(),
          nodeFilters: nodeFilters.optional(),
        }),
      )
      .optional()
      .meta({ description: "Files put into the nodes before k3s starts" }),
    manifests: z
      .array(z.string())
      .optional()
      .meta({ description: "Manifest files or directories (relative to the config file) every server auto-deploys" }),
    charts: z
      .array(
        z.strictObject({
          name: z.string().meta({ description: "Release name, and the name of its HelmChart resource" }),
          chart: z.string().meta({
            description: "A packaged chart (.tgz, relative to the config file), embedded; with repo, the chart's name there",
          }),
          repo: z.string().optional().meta({ description: "Chart repository URL: the cluster fetches the chart (online)" }),
          version: z.string().optional().meta({ description: "Chart version in repo (default: the newest)" }),
          namespace: z.string().optional().meta({ description: "Namespace of the release, created when missing" }),
          values: z.string().optional().meta({ description: "Values file (YAML), relative to the config file" }),
          valuesContent: z.string().optional().meta({ description: "Values as YAML text, instead of a file" }),
        }),
      )
      .optional()
      .meta({ description: "Helm charts k3s's Helm controller installs when the cluster comes up" }),
    bundle: z.string().optional().meta({
      description: "A bundle (k3box bundle create), relative to the config file: images, charts and manifests for offline use",
    }),
    hostAliases: z.array(hostAlias).optional(),
    registries: z.strictObject({ create: z.strictObject(registryCreate).optional(), ...registries }).optional(),
    options: z
      .strictObject({
        k3s: z.strictObject({ extraArgs: z.array(k3sArg).optional(), nodeLabels: z.array(nodeLabel).optional() }).optional(),
        kubeconfig: kubeconfigOptions.optional(),
        k3box: z
          .strictObject({
            wait: z.boolean().optional().meta({ description: "Wait until the cluster is ready (default true)" }),
            waitFor: z
              .enum(["api", "workloads", "addons"])
              .optional()
              .meta({ description: "What ready means: api, workloads (default: pods can be created) or addons (DNS answers)" }),
            timeout: duration.optional(),
            disableLoadbalancer: z.boolean().optional(),
            disableRollback: z.boolean().optional(),
            imageImportMode: z.enum(IMAGE_IMPORT_MODES).optional().meta({
              description:
                "How image import delivers when no --mode is given: eager (into every node, the default) or registry (pushed to the cluster's registry, pulled by a node when a pod needs it)",
            }),
            adapt: z
              .strictObject({
                cgroupV1: z.boolean().optional(),
                oomScoreAdj: z.boolean().optional(),
                conntrack: z.boolean().optional(),
              })
              .optional()
              .meta({ description: "Switch off adaptations to the engine (each on by default; applied only where needed)" }),
            loadbalancer: z
              .strictObject({
                image: z
                  .string()
                  .optional()
                  .meta({ description: "nginx image with the stream module (default: the official nginx image k3box pins)" }),
              })
              .optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .meta({ title: "k3box cluster config", description: "A k3box cluster: k3box cluster create --config FILE" });

export type K3boxConfig = z.infer<typeof k3boxConfigSchema>;

/** k3d's `kind: Simple`, v1alpha5 and v1alpha4 together (v1alpha4 lacks files and ulimits, and may put name at the top). */
export const k3dSimpleSchema = z.strictObject({
  apiVersion: z.enum(K3D_API_VERSIONS),
  kind: z.literal(K3D_KIND),
  name: z.string().optional(),
  metadata: z.strictObject({ name: z.string().optional() }).optional(),
  servers: z.int().min(1).optional(),
  agents: z.int().min(0).optional(),
  image: z.string().optional(),
  kubeAPI: kubeAPI.optional(),
  network: z.string().optional(),
  subnet: z.string().optional(),
  token: z.string().optional(),
  volumes: z.array(volume).optional(),
  ports: z.array(port).optional(),
  env: z.array(envVar).optional(),
  files: z
    .array(
      z.strictObject({
        source: z.string(),
        destination: z.string(),
        description: z.string().optional(),
        nodeFilters: nodeFilters.optional(),
      }),
    )
    .optional(),
  hostAliases: z.array(hostAlias).optional(),
  registries: z
    .strictObject({
      create: z
        .strictObject({
          ...registryCreate,
          image: z.string().optional(),
          proxy: z
            .strictObject({ remoteURL: z.string().optional(), username: z.string().optional(), password: z.string().optional() })
            .optional(),
          volumes: z.array(z.string()).optional(),
        })
        .optional(),
      ...registries,
    })
    .optional(),
  options: z
    .strictObject({
      k3d: z
        .strictObject({
          wait: z.boolean().optional(),
          timeout: duration.optional(),
          disableLoadbalancer: z.boolean().optional(),
          disableImageVolume: z.boolean().optional(),
          disableRollback: z.boolean().optional(),
          nodeHookActions: z.array(z.unknown()).optional(),
          loadbalancer: z.strictObject({ configOverrides: z.array(z.string()).optional() }).optional(),
        })
        .optional(),
      k3s: z.strictObject({ extraArgs: z.array(k3sArg).optional(), nodeLabels: z.array(nodeLabel).optional() }).optional(),
      kubeconfig: kubeconfigOptions.optional(),
      runtime: z
        .strictObject({
          gpuRequest: z.string().optional(),
          serversMemory: z.string().optional(),
          agentsMemory: z.string().optional(),
          hostPidMode: z.boolean().optional(),
          labels: z.array(nodeLabel).optional(),
          ulimits: z
            .array(z.strictObject({ name: z.string(), soft: z.number().optional(), hard: z.number().optional() }))
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

export type K3dSimpleConfig = z.infer<typeof k3dSimpleSchema>;

/** The JSON Schema published as schema/k3box-config.schema.json, for editors. */
export function k3boxJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(k3boxConfigSchema, { target: "draft-2020-12" }),
    $id: "https://k3box.dev/schema/k3box-config.schema.json",
  };
}
