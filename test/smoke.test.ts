import { Destination } from '@segment/actions-core'
it('loads actions-core', () => { expect(typeof Destination).toBe('function') })
