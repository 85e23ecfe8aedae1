/** A create plan as plain data for people to read (`cluster create --dry-run`), secrets hidden. */
import type { ContainerSpec } from "../../runtime/types.js";
import { REDACTED, SECRET_NAME, redactArgs } from "../cluster-spec/view.js";
import type { Action } from "./actions.js";
import type { CreatePlan } from "./cluster.js";

/** Leaves are one-line descriptions; `sequence` and `parallel` keep their structure. */
export type ActionView = string | { readonly sequence: readonly ActionView[] } | { readonly parallel: readonly ActionView[] };

export function describeAction(action: Action): ActionView {
  switch (action.type) {
    case "sequence":
      return { sequence: action.actions.map(describeAction) };
    case "parallel":
      return { parallel: action.actions.map(describeAction) };
    case "ensure-image":
      return `ensure image ${action.image} (pull when missing)`;
    case "create-network":
      return `create network ${action.network.name}${action.network.subnet ? ` with subnet ${action.network.subnet}` : ""}`;
    case "create-volume":
      return `create volume ${action.volume.name}`;
    case "create-container": {
      const files = action.files.map((f) => f.path);
      return `create container ${action.container.name}${files.length > 0 ? `, then copy in ${files.join(", ")}` : ""}`;
    }
    case "start":
      return `start ${action.container}${action.milestone ? ` and wait for its ${action.milestone} milestone` : ""}`;
    case "connect-network":
      return `connect ${action.container} to network ${action.network}`;
    case "wait-registry":
      return `wait until registry ${action.container} answers at ${action.address}`;
    case "wait":
      return `wait for the ${action.milestone} milestone of ${action.container}`;
    case "wait-datastore":
      return `wait until the ${action.engine} datastore ${action.container} accepts connections`;
    case "stop":
      return `stop ${action.container} (${action.timeoutSeconds}s grace)`;
    case "rename":
      return `rename ${action.container} to ${action.to}`;
    case "remove-container":
      return `remove container ${action.container}`;
    case "remove-volume":
      return `remove volume ${action.volume}`;
    case "remove-network":
      return `remove network ${action.network}`;
    case "copy-bundle-entry":
      return `copy ${action.entry.path} of ${action.bundle} into ${action.container} as ${action.destination}`;
    case "change-files": {
      const paths = [...action.change.files.map((f) => f.path), ...(action.change.remove ?? []).map((p) => `-${p}`)];
      return `change files in ${action.container}: ${paths.join(", ")}`;
    }
    case "disconnect-network":
      return `disconnect ${action.container} from network ${action.network}`;
    case "wait-ready":
      return `wait until the API of cluster ${action.cluster} answers /readyz through its published address`;
    case "update-loadbalancer":
      return `update the load balancer of cluster ${action.cluster} for its running nodes${action.exclude?.length ? ` except ${action.exclude.join(", ")}` : ""}`;
    case "remove-node-objects":
      return `delete the Node objects of ${action.nodes.join(", ")} from the API`;
  }
}

export function describePlan(plan: CreatePlan): Record<string, unknown> {
  return {
    network: plan.network,
    api: { ...plan.api, hostPort: plan.api.hostPort === 0 ? "auto" : plan.api.hostPort },
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      ...containerView(n.container),
      files: n.files.map((f) => f.path),
    })),
    datastore: {
      type: plan.datastore.type,
      ...(plan.datastore.endpoint !== undefined ? { endpoint: plan.datastore.endpoint } : {}),
      ...(plan.datastore.container
        ? {
            name: plan.datastore.container.name,
            ...containerView(plan.datastore.container.container),
            files: plan.datastore.container.files.map((f) => f.path),
          }
        : {}),
    },
    ...(plan.registry ? { registry: { name: plan.registry.name, image: plan.registry.image } } : {}),
    actions: flatten(describeAction(plan.actions)),
  };
}

function flatten(view: ActionView): readonly ActionView[] {
  return typeof view === "object" && "sequence" in view ? view.sequence : [view];
}

function containerView(c: ContainerSpec): Record<string, unknown> {
  return {
    image: c.image,
    ...(c.cmd ? { cmd: redactArgs(c.cmd) } : {}),
    env: Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, SECRET_NAME.test(k) ? REDACTED : v])),
    ports: (c.ports ?? []).map((p) => `${p.hostIp}:${p.hostPort === 0 ? "auto" : p.hostPort}->${p.containerPort}/${p.protocol}`),
    mounts: (c.mounts ?? []).map((m) => `${m.source || "(anonymous)"}:${m.target}${m.readOnly ? ":ro" : ""}`),
  };
}
