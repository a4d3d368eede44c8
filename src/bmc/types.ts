/**
 * The BMC port: what uStart asks of a server's baseboard management controller (Redfish or
 * IPMI). The OS installation (issue 20, items 3 and 4) and discovery are written against it.
 */
export type BootDevice = 'Cd' | 'Pxe' | 'Hdd';
export type PowerState = 'On' | 'Off';
export type PowerAction = 'On' | 'ForceOff' | 'GracefulShutdown' | 'ForceRestart' | 'PowerCycle';
export interface Bmc {
  readonly address: string;
  powerState(): Promise<PowerState>;
  power(action: PowerAction): Promise<void>;
  setOneTimeBoot(device: BootDevice): Promise<void>;
  insertMedia(imageUrl: string): Promise<void>; // Redfish VirtualMedia (CD); IPMI: throws BmcUnsupported
  ejectMedia(): Promise<void>;
  close(): Promise<void>;
}
