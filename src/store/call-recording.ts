// A call's recording as the store keeps it (table call_recordings, filled from Twilio's recording
// status callbacks). Status is Twilio's word for it: in-progress, completed, absent, failed, …

export interface CallRecordingInfo {
  /** Twilio's RecordingSid (RE…). */
  sid: string;
  callSid: string;
  status: string;
  /** 2 for a dual-channel recording (caller and assistant apart). */
  channels: number | null;
  durationSeconds: number | null;
  /** Twilio's media URL (fetching it needs the account's credentials). */
  url: string | null;
  /** Twilio's error code, e.g. 16101 for a recording too short to keep. */
  errorCode: number | null;
  startedAt: Date | null;
  updatedAt: Date;
}

/** What one callback (or the create answer) says; a status never moves back (save_call_recording). */
export interface RecordingUpdate {
  sid: string;
  callSid: string;
  status: string;
  channels?: number | null;
  durationSeconds?: number | null;
  url?: string | null;
  errorCode?: number | null;
  startedAt?: Date | null;
}
