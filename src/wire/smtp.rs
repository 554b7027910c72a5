//! SMTP reply parser (RFC 5321 §4.2): three-digit codes, multi-line `250-` continuations, bounded lines.
//!
//! Only the code matters to a health check, so lines are not stored: the parser
//! reads the code and separator of each line and skips the text, counting its length.

use core::fmt;

use crate::limits::{SMTP_MAX_LINE, SMTP_MAX_REPLY_LINES};

/// Why an SMTP reply could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpError {
    /// A line does not start with three digits and ` `, `-` or the line end.
    MalformedReply,
    /// A continuation line carries a different code than the first (RFC 5321 §4.2.1).
    CodeMismatch,
    /// A line is longer than `SMTP_MAX_LINE`.
    LineTooLong,
    /// A reply has more than `SMTP_MAX_REPLY_LINES` lines.
    TooManyLines,
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmtpError::MalformedReply => "SMTP reply line is malformed",
            SmtpError::CodeMismatch => "SMTP multi-line reply changes its code",
            SmtpError::LineTooLong => "SMTP reply line exceeds SMTP_MAX_LINE",
            SmtpError::TooManyLines => "SMTP reply has more lines than SMTP_MAX_REPLY_LINES",
        })
    }
}

/// Incremental reader of one SMTP reply (one or more lines).
#[derive(Debug, Clone, Default)]
pub struct ReplyParser {
    /// Position in the current line.
    column: usize,
    /// Code digits of the current line.
    code: u16,
    /// Code of the reply's first line.
    first_code: Option<u16>,
    /// The current line is the last one (separator was a space or the line ended after the code).
    last_line: bool,
    /// Lines of the current reply already ended.
    lines: usize,
}

impl ReplyParser {
    /// A parser at the start of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns how many were consumed and, when a reply ended, its code.
    ///
    /// Consumption stops right after a complete reply so the caller can keep what follows.
    pub fn feed(&mut self, data: &[u8]) -> Result<(usize, Option<u16>), SmtpError> {
        for (i, &b) in data.iter().enumerate() {
            if let Some(code) = self.byte(b)? {
                return Ok((i + 1, Some(code)));
            }
        }
        Ok((data.len(), None))
    }

    fn byte(&mut self, b: u8) -> Result<Option<u16>, SmtpError> {
        let col = self.column;
        self.column += 1;
        if self.column > SMTP_MAX_LINE {
            return Err(SmtpError::LineTooLong);
        }
        match col {
            0..=2 => {
                if !b.is_ascii_digit() {
                    return Err(SmtpError::MalformedReply);
                }
                self.code = self.code * 10 + u16::from(b - b'0');
                Ok(None)
            }
            3 => {
                // RFC 5321 §4.2.1: first digit 2-5; we accept 1-5 as some servers do.
                if !(100..600).contains(&self.code) {
                    return Err(SmtpError::MalformedReply);
                }
                if self.first_code.is_some_and(|c| c != self.code) {
                    return Err(SmtpError::CodeMismatch);
                }
                self.first_code = Some(self.code);
                match b {
                    b'-' => self.last_line = false,
                    b' ' => self.last_line = true,
                    b'\r' => self.last_line = true,
                    b'\n' => {
                        self.last_line = true;
                        return self.end_of_line();
                    }
                    _ => return Err(SmtpError::MalformedReply),
                }
                Ok(None)
            }
            _ => {
                if b == b'\n' {
                    self.end_of_line()
                } else {
                    Ok(None)
                }
            }
        }
    }

    fn end_of_line(&mut self) -> Result<Option<u16>, SmtpError> {
        let code = self.code;
        self.column = 0;
        self.code = 0;
        if self.last_line {
            self.first_code = None;
            self.last_line = false;
            self.lines = 0;
            Ok(Some(code))
        } else {
            self.lines += 1;
            if self.lines >= SMTP_MAX_REPLY_LINES {
                return Err(SmtpError::TooManyLines);
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(input: &[u8]) -> Result<heapless::Vec<u16, 8>, SmtpError> {
        let mut p = ReplyParser::new();
        let mut out = heapless::Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let (n, code) = p.feed(rest)?;
            if let Some(c) = code {
                out.push(c).unwrap();
            }
            rest = &rest[n..];
        }
        Ok(out)
    }

    #[test]
    fn single_and_multi_line() {
        assert_eq!(
            replies(b"220 mx.example ESMTP\r\n").unwrap().as_slice(),
            &[220]
        );
        assert_eq!(
            replies(b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 bye\r\n")
                .unwrap()
                .as_slice(),
            &[250, 221]
        );
        assert_eq!(replies(b"250\r\n").unwrap().as_slice(), &[250]);
        assert_eq!(replies(b"250\n").unwrap().as_slice(), &[250]);
    }

    #[test]
    fn byte_by_byte_and_stops_after_reply() {
        let mut p = ReplyParser::new();
        let msg = b"250-a\r\n250 b\r\n";
        for (i, b) in msg.iter().enumerate() {
            let (n, code) = p.feed(core::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            assert_eq!(code.is_some(), i == msg.len() - 1);
        }
        let mut p = ReplyParser::new();
        assert_eq!(p.feed(b"220 x\r\n250 y\r\n").unwrap(), (7, Some(220)));
    }

    #[test]
    fn bad_replies() {
        assert_eq!(replies(b"HTTP/1.0 200\r\n"), Err(SmtpError::MalformedReply));
        assert_eq!(replies(b"2a0 x\r\n"), Err(SmtpError::MalformedReply));
        assert_eq!(replies(b"220x\r\n"), Err(SmtpError::MalformedReply));
        assert_eq!(replies(b"020 x\r\n"), Err(SmtpError::MalformedReply));
        assert_eq!(replies(b"250-a\r\n220 b\r\n"), Err(SmtpError::CodeMismatch));
        let mut long = heapless::Vec::<u8, 1024>::new();
        long.extend_from_slice(b"220 ").unwrap();
        long.extend_from_slice(&[b'x'; 600]).unwrap();
        assert_eq!(replies(&long), Err(SmtpError::LineTooLong));
    }

    #[test]
    fn continuation_lines_are_bounded() {
        let mut p = ReplyParser::new();
        for _ in 0..SMTP_MAX_REPLY_LINES - 1 {
            assert_eq!(p.feed(b"220-still here\r\n"), Ok((16, None)));
        }
        // The last allowed line ends the reply; the next reply counts afresh.
        assert_eq!(p.feed(b"220 ready\r\n"), Ok((11, Some(220))));
        for _ in 0..SMTP_MAX_REPLY_LINES - 1 {
            assert_eq!(p.feed(b"250-x\r\n"), Ok((7, None)));
        }
        assert_eq!(p.feed(b"250-x\r\n"), Err(SmtpError::TooManyLines));
    }
}
