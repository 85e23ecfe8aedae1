/** The file formats k3box reads, by apiVersion and kind. Kept apart from the schema so naming them costs nothing. */
export const K3BOX_API_VERSION = "k3box.dev/v1alpha1";
export const K3BOX_KIND = "Cluster";
export const K3D_API_VERSIONS = ["k3d.io/v1alpha5", "k3d.io/v1alpha4"] as const;
