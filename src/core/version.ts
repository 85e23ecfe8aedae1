/** k3box's own version, written into every object it creates. */
export const VERSION = "0.1.0";
