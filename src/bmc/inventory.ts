/** What a BMC reports of its server's hardware (Redfish; IPMI has no such inventory). */
import type { Bmc } from './types.js';

export interface BmcInventory {
  address: string;
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  /** Populated CPU sockets (Redfish Processor, ProcessorType CPU). */
  processors: { id: string; socket?: string; model?: string; cores?: number; threads?: number }[];
  /** System memory in GiB (MemorySummary.TotalSystemMemoryGiB, else the DIMMs' CapacityMiB). */
  memoryGiB?: number;
  /** Ethernet interfaces with a MAC, lowercase (PermanentMACAddress, else MACAddress). */
  nics: { id: string; name?: string; mac: string; speedMbps?: number }[];
  /** Drives of every Storage subsystem; mediaType as Redfish names it (HDD, SSD, SMR). */
  drives: {
    id: string;
    name?: string;
    capacityBytes: number;
    mediaType?: string;
    protocol?: string;
  }[];
}

/** A BMC that can also read the hardware inventory. */
export interface InventoryBmc extends Bmc {
  inventory(): Promise<BmcInventory>;
}
