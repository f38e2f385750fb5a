import Identity
import Testing
