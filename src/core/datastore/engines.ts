/**
 * The datastores a cluster can have, and the databases k3box runs for one: their official
 * images, how each is set up (a database, a user, a password read from a file), the endpoint k3s
 * is given, and how k3box asks whether it accepts connections.
 */

/** A database k3box runs as a container of the cluster. */
export type DatastoreEngine = "postgres" | "mysql" | "mariadb";

/**
 * sqlite: k3s's own, one server. etcd: embedded in the servers (`--cluster-init`). An engine: a
 * database k3box runs beside the nodes. external: a database k3box is given the endpoint of.
 */
export type DatastoreType = "sqlite" | "etcd" | DatastoreEngine | "external";

export const DATASTORE_TYPES: readonly DatastoreType[] = ["sqlite", "etcd", "postgres", "mysql", "mariadb", "external"];

export function isEngine(type: string | undefined): type is DatastoreEngine {
  return type === "postgres" || type === "mysql" || type === "mariadb";
}

/** Servers that share a datastore outside themselves: each is a full server, none joins another. */
export function isShared(type: string | undefined): boolean {
  return isEngine(type) || type === "external";
}

/** The database and user k3box sets up in every database it runs. */
export const DATASTORE_DATABASE = "k3s";
export const DATASTORE_USER = "k3s";
/**
 * The password, as a file the image's entrypoint reads (`*_FILE`) as root before it drops to the
 * database's user, so that it is in no environment variable `docker inspect` shows.
 */
export const DATASTORE_PASSWORD_PATH = "/etc/k3box/datastore-password";

export interface EngineSettings {
  /** The official image, pinned to a major release. */
  readonly image: string;
  readonly port: number;
  /** Where the image keeps its data (its VOLUME). */
  readonly dataDir: string;
  /** The image's variables that create the user and database on the first start. */
  readonly env: Readonly<Record<string, string>>;
  /** The endpoint k3s is given, with the password in it. */
  endpoint(host: string, password: string): string;
  /**
   * Run in the container; exits 0 once the server accepts connections over TCP. The official
   * images' first-start setup runs a server on a socket only, so this does not pass until the
   * real one listens.
   */
  readonly ready: readonly string[];
}

/** mysqladmin (MySQL) or mariadb-admin (MariaDB 11 has no mysql* names): a ping answers 0 even when access is denied. */
const MYSQL_PING = [
  "sh",
  "-c",
  'if command -v mariadb-admin >/dev/null 2>&1; then exec mariadb-admin "$@"; fi; exec mysqladmin "$@"',
  "mysql-ping",
  "ping",
  "--protocol=tcp",
  "-h",
  "127.0.0.1",
  "-P",
  "3306",
  "--silent",
];

const mysqlEndpoint = (host: string, password: string): string =>
  `mysql://${DATASTORE_USER}:${password}@tcp(${host}:3306)/${DATASTORE_DATABASE}`;

export const ENGINES: Readonly<Record<DatastoreEngine, EngineSettings>> = {
  postgres: {
    image: "docker.io/library/postgres:17",
    port: 5432,
    dataDir: "/var/lib/postgresql/data",
    env: {
      POSTGRES_USER: DATASTORE_USER,
      POSTGRES_DB: DATASTORE_DATABASE,
      POSTGRES_PASSWORD_FILE: DATASTORE_PASSWORD_PATH,
    },
    // k3s connects in the clear on the cluster network; pgx's default would try TLS first.
    endpoint: (host, password) => `postgres://${DATASTORE_USER}:${password}@${host}:5432/${DATASTORE_DATABASE}?sslmode=disable`,
    ready: ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", DATASTORE_USER, "-d", DATASTORE_DATABASE],
  },
  mysql: {
    image: "docker.io/library/mysql:8.4",
    port: 3306,
    dataDir: "/var/lib/mysql",
    env: {
      MYSQL_USER: DATASTORE_USER,
      MYSQL_DATABASE: DATASTORE_DATABASE,
      MYSQL_PASSWORD_FILE: DATASTORE_PASSWORD_PATH,
      MYSQL_ROOT_PASSWORD_FILE: DATASTORE_PASSWORD_PATH,
    },
    endpoint: mysqlEndpoint,
    ready: MYSQL_PING,
  },
  mariadb: {
    image: "docker.io/library/mariadb:11",
    port: 3306,
    dataDir: "/var/lib/mysql",
    env: {
      MARIADB_USER: DATASTORE_USER,
      MARIADB_DATABASE: DATASTORE_DATABASE,
      MARIADB_PASSWORD_FILE: DATASTORE_PASSWORD_PATH,
      MARIADB_ROOT_PASSWORD_FILE: DATASTORE_PASSWORD_PATH,
    },
    endpoint: mysqlEndpoint,
    ready: MYSQL_PING,
  },
};
