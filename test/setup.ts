import nock from 'nock'

// No test reaches the internet. Loopback stays open for the local Criteo sandbox.
nock.disableNetConnect()
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/)

afterEach(() => {
  nock.cleanAll()
})
