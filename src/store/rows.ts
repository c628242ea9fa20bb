// Rows as the database returns them (snake_case), parsed into the store's types, and the store's
// types written back as columns. Every adapter goes through here; each table's mapping lives in its
// own file, gathered under this one name so the adapters import them from one place.

export { toAppointment, toAppointmentDetail, toCustomer } from './booking-rows.js';
export { recordingToJson, toCallRecording } from './call-recording-rows.js';
export {
  CALL_COLUMNS,
  CALL_LIST_COLUMNS,
  type CallColumn,
  callRecordToRow,
  toCallListItem,
  toCallRecord,
} from './call-rows.js';
export { toConsoleLink } from './console-link-rows.js';
export { toMessage } from './message-rows.js';
export { merchantToJson, tokenColumns, toMerchant } from './merchant-rows.js';
