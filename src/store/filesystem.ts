import fs from 'node:fs';

/**
 * `statfs` f_type magic numbers of filesystems on which SQLite's WAL mode is unsafe,
 * because their locks or shared memory do not behave like a local disk's.
 * Values from Linux `include/uapi/linux/magic.h` and the filesystems' own sources.
 */
const NETWORK_FILESYSTEMS = new Map<number, string>([
  [0x6969, 'NFS'],
  [0x517b, 'SMB'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x01021997, '9p (WSL or a virtual machine share)'],
  [0x5346414f, 'AFS'],
  [0x73757245, 'Coda'],
  [0x00c36400, 'Ceph'],
  [0x0bd00bd0, 'Lustre'],
  [0x01161970, 'GFS2'],
  [0x7461636f, 'OCFS2'],
  [0x65735546, 'FUSE (sshfs, cloud sync and similar)'],
]);

/** Returns the name of the network filesystem with statfs type `type`, or undefined for others. */
export function networkFilesystemName(type: number): string | undefined {
  // f_type is unsigned in the kernel, and 0xff534d42 does not fit a signed 32-bit int.
  return NETWORK_FILESYSTEMS.get(type >>> 0);
}

/** Results by folder: a folder does not move to another filesystem while a process runs. */
const detected = new Map<string, string | undefined>();

/** Returns the network filesystem that contains `dir`, or undefined on a local disk or when statfs fails. */
export function detectNetworkFilesystem(dir: string): string | undefined {
  if (detected.has(dir)) {
    return detected.get(dir);
  }

  let name: string | undefined;
  try {
    name = networkFilesystemName(fs.statfsSync(dir).type);
  } catch {
    // statfs is missing on some platforms; the WAL check after opening still applies.
    name = undefined;
  }

  detected.set(dir, name);
  return name;
}
