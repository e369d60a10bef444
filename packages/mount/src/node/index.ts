/**
 * @erofs-js/mount/node: the Node host. Everything of the portable @erofs-js/mount, with
 * its HostController replaced by one that opens host paths, descriptors and URLs
 * (nodeOpener), plus FdSource, the JSON-RPC server and client over Unix sockets, and the
 * mains of erofs-host and erofsctl.
 */
export * from '../index.js';
export { HostController, allowImages, nodeOpener, createNodeOpener, openNodeImage, fromNodeError } from './controller.js';
export { FdSource, type FdSourceOptions } from './source.js';
export { openRemoteImage, imageFromRpc, type RemoteOptions } from './remote.js';
export { presignS3, s3ConfigFromEnv, type S3Config } from './s3.js';
export { RpcServer, prepareSocketDir, tmpfsFromRpc, overlayFromRpc, VERSION, RPC_MOUNT_TYPES, type RpcMountType, type RpcServerOptions } from './rpc/server.js';
export { RpcClient, RpcError, type RpcClientOptions, type RpcTmpfsOptions } from './rpc/client.js';
export { hostMain, parseOciConfig, parseTmpfsArg, ociTmpfsOptions, defaultSocketPath, ROOTFS_SOURCE_ANNOTATION, ROOTFS_TYPE_ANNOTATION, type HostConfig, type Io } from './bin/host.js';
export { ctlMain, formatTable, parseTmpfsOptions } from './bin/ctl.js';
