// Filled in by the adapter work (issue #8).
export {};
