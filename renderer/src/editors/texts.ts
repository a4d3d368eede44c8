/**
 * English and German text of the hardware editor (NICs, disks, bulk edits) and the network
 * editing (rename, delete with its uses). The language is the wizard's; German must have
 * every English key (the type checks it).
 */
import { useUiStore } from '../state/ui-store';

const en = {
  hardwareOf: 'Hardware of',
  nics: 'Network interfaces',
  disks: 'Disks',
  nicName: 'Name',
  mac: 'MAC',
  speed: 'Gbit/s',
  untagged: 'Network (untagged)',
  tagged: 'Tagged networks',
  taggedHint: 'names, separated by commas',
  bond: 'Bond',
  noBond: '(none)',
  noNetwork: '(none)',
  unknownNetwork: 'not a network of the plan',
  addNic: 'Add NIC',
  removeNic: 'Remove NIC',
  device: 'Device',
  sizeGB: 'Size (GB)',
  diskType: 'Type',
  diskUse: 'Use',
  addDisk: 'Add disk',
  removeDisk: 'Remove disk',
  bulkHardware: 'Hardware of the selected servers',
  bulkHint:
    'Select servers in the table (filter, then tick the header box to select all shown), then add a NIC or a disk to each.',
  bulkAddNic: 'Add a NIC to each',
  bulkMacs: 'MAC of the new NIC per server (from the customer’s list; never guessed)',
  bulkAddDisk: 'Add a disk to each',
  bulkApply: 'Add',
  bulkDone: 'Added to',
  bulkSkippedExists: 'already there on',
  bulkSkippedMac: 'no MAC given for',
  deleteNetwork: 'Delete',
  deleteNetworkTitle: 'Delete network',
  deleteNetworkUses:
    'is still used. Deleting it also removes these references (undo brings them back):',
  deleteNetworkConfirm: 'Delete network and references',
  renameTaken: 'another network has this name',
  renameEmpty: 'a network needs a name',
  useNic: 'NIC',
  useNicTagged: 'NIC, tagged',
  useBond: 'bond',
  useBondTagged: 'bond, tagged',
  useAddress: 'address',
  useAck: 'acknowledged warning',
  needNumber: 'must be a number',
  bonds: 'Bonds',
  bondMode: 'Mode',
  bondMembers: 'Members (choose on the NICs)',
  addBond: 'Add bond',
  removeBond: 'Remove bond',
};

export type EditorTextKey = keyof typeof en;

const de: Record<EditorTextKey, string> = {
  hardwareOf: 'Hardware von',
  nics: 'Netzwerkschnittstellen',
  disks: 'Datenträger',
  nicName: 'Name',
  mac: 'MAC',
  speed: 'Gbit/s',
  untagged: 'Netz (ungetaggt)',
  tagged: 'Getaggte Netze',
  taggedHint: 'Namen, durch Kommas getrennt',
  bond: 'Bond',
  noBond: '(keiner)',
  noNetwork: '(keines)',
  unknownNetwork: 'kein Netz des Plans',
  addNic: 'Schnittstelle hinzufügen',
  removeNic: 'Schnittstelle entfernen',
  device: 'Gerät',
  sizeGB: 'Größe (GB)',
  diskType: 'Typ',
  diskUse: 'Verwendung',
  addDisk: 'Datenträger hinzufügen',
  removeDisk: 'Datenträger entfernen',
  bulkHardware: 'Hardware der ausgewählten Server',
  bulkHint:
    'Server in der Tabelle auswählen (filtern, dann das Kästchen im Kopf ankreuzen, um alle angezeigten zu wählen), dann jedem eine Schnittstelle oder einen Datenträger hinzufügen.',
  bulkAddNic: 'Jedem eine Schnittstelle hinzufügen',
  bulkMacs: 'MAC der neuen Schnittstelle je Server (aus der Kundenliste; nie geraten)',
  bulkAddDisk: 'Jedem einen Datenträger hinzufügen',
  bulkApply: 'Hinzufügen',
  bulkDone: 'Hinzugefügt bei',
  bulkSkippedExists: 'schon vorhanden bei',
  bulkSkippedMac: 'keine MAC angegeben für',
  deleteNetwork: 'Löschen',
  deleteNetworkTitle: 'Netz löschen',
  deleteNetworkUses:
    'wird noch verwendet. Beim Löschen werden auch diese Verweise entfernt (Rückgängig stellt sie wieder her):',
  deleteNetworkConfirm: 'Netz und Verweise löschen',
  renameTaken: 'ein anderes Netz heißt schon so',
  renameEmpty: 'ein Netz braucht einen Namen',
  useNic: 'Schnittstelle',
  useNicTagged: 'Schnittstelle, getaggt',
  useBond: 'Bond',
  useBondTagged: 'Bond, getaggt',
  useAddress: 'Adresse',
  useAck: 'akzeptierte Warnung',
  needNumber: 'muss eine Zahl sein',
  bonds: 'Bonds',
  bondMode: 'Modus',
  bondMembers: 'Mitglieder (an den Schnittstellen wählen)',
  addBond: 'Bond hinzufügen',
  removeBond: 'Bond entfernen',
};

export const EDITOR_TEXTS = { en, de } as const;

/** The text function of the current language for the editors. */
export function useEditorT(): (key: EditorTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict: Record<EditorTextKey, string> = EDITOR_TEXTS[lang];
  return (key) => dict[key];
}
